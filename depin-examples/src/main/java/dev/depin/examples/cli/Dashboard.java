package dev.depin.examples.cli;

import dev.depin.metrics.GpuTelemetry;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code depin node --dashboard-port}: one page a provider can leave open, with charts drawn
 * from the node's own meters (no outside scripts or fonts: the page is served whole by the
 * node and works offline): earnings over time, attempts completed and failed, GPU
 * utilisation and temperature (or why there are none), the attempt latency histogram, and the
 * compliance of the current SLA period against the node's signed credit tiers.
 * A sampler keeps the last hour of readings (one every {@value #EVERY_S} s); the page asks
 * for them as JSON every few seconds.
 */
final class Dashboard implements AutoCloseable {
    static final int EVERY_S = 2;
    private static final int KEEP = 3600 / EVERY_S;

    private record Point(long at, double earned, double completed, double failed, double util, double temp,
                         double sla) {
    }

    private final MeterRegistry registry;
    private final GpuTelemetry gpus;
    private final String node;
    /** The SLA the node signs, or null. */
    private final dev.depin.provider.SlaTerms sla;
    private final ArrayDeque<Point> points = new ArrayDeque<>();
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "depin-dashboard");
        t.setDaemon(true);
        return t;
    });

    Dashboard(MeterRegistry registry, GpuTelemetry gpus, String node, dev.depin.provider.SlaTerms sla) {
        this.registry = registry;
        this.gpus = gpus;
        this.node = node;
        this.sla = sla;
        sample();
        sampler.scheduleAtFixedRate(this::sample, EVERY_S, EVERY_S, TimeUnit.SECONDS);
    }

    private double counter(String name, String tag, String value) {
        double sum = 0;
        for (FunctionCounter c : registry.find(name).functionCounters()) {
            if (tag == null || value.equals(c.getId().getTag(tag))) {
                sum += c.count();
            }
        }
        for (io.micrometer.core.instrument.Counter c : registry.find(name).counters()) {
            if (tag == null || value.equals(c.getId().getTag(tag))) {
                sum += c.count();
            }
        }
        return sum;
    }

    private double gauge(String name) {
        var g = registry.find(name).gauge();
        return g == null ? Double.NaN : g.value();
    }

    private void sample() {
        try {
            double util = Double.NaN;
            double temp = Double.NaN;
            if (gpus != null && !gpus.latest().isEmpty()) {
                util = 0;
                temp = Double.NEGATIVE_INFINITY;
                for (GpuTelemetry.Sample s : gpus.latest()) {
                    util += s.utilization() / gpus.latest().size();
                    temp = Math.max(temp, s.temperature());
                }
            }
            Point p = new Point(System.currentTimeMillis(), counter("depin.node.earnings", null, null),
                    counter("depin.node.attempts", "outcome", "completed"),
                    counter("depin.node.attempts", "outcome", "failed"), util, temp, gauge("depin.node.sla.compliance"));
            synchronized (points) {
                points.addLast(p);
                while (points.size() > KEEP) {
                    points.removeFirst();
                }
            }
        } catch (RuntimeException e) {
            // A reading that fails is skipped; the next one tries again.
        }
    }

    /** @return the readings and the latency histogram, as JSON */
    byte[] json() {
        StringBuilder b = new StringBuilder(8192);
        b.append("{\"node\":\"").append(node).append("\",\"every\":").append(EVERY_S).append(",\"gpu\":");
        if (gpus == null || !gpus.available()) {
            b.append("null,\"gpuWhy\":\"").append(escape(gpus == null ? "no telemetry" : gpus.unavailability()))
                    .append('"');
        } else {
            b.append("true");
        }
        b.append(",\"points\":[");
        synchronized (points) {
            boolean first = true;
            for (Point p : points) {
                b.append(first ? "" : ",").append(String.format(Locale.ROOT, "[%d,%s,%s,%s,%s,%s,%s]", p.at(),
                        num(p.earned()), num(p.completed()), num(p.failed()), num(p.util()), num(p.temp()),
                        num(p.sla())));
                first = false;
            }
        }
        // Latency: every kernel's completed attempts, bucket counts summed (cumulative, seconds).
        TreeMap<Double, Double> buckets = new TreeMap<>();
        double count = 0;
        for (Timer t : registry.find("depin.node.attempt.duration").tag("outcome", "completed").timers()) {
            var snap = t.takeSnapshot();
            count += snap.count();
            for (CountAtBucket c : snap.histogramCounts()) {
                buckets.merge(c.bucket(TimeUnit.SECONDS), c.count(), Double::sum);
            }
        }
        b.append("],\"latency\":{\"count\":").append(num(count)).append(",\"buckets\":[");
        boolean first = true;
        for (var e : buckets.entrySet()) {
            b.append(first ? "" : ",").append('[').append(num(e.getKey())).append(',').append(num(e.getValue()))
                    .append(']');
            first = false;
        }
        b.append("]},\"sla\":");
        if (sla == null) {
            b.append("null");
        } else {
            b.append("{\"terms\":\"").append(escape(SlaOptions.describe(sla))).append("\",\"tiers\":[");
            for (int i = 0; i < sla.credits().size(); i++) {
                var t = sla.credits().get(i);
                b.append(i == 0 ? "" : ",").append('[').append(t.belowBasisPoints() / 100.0).append(',')
                        .append(t.creditPercent()).append(']');
            }
            b.append("],\"counts\":[").append(num(counter("depin.node.sla.attempts", "outcome", "good"))).append(',')
                    .append(num(counter("depin.node.sla.attempts", "outcome", "late"))).append(',')
                    .append(num(counter("depin.node.sla.attempts", "outcome", "failed"))).append(',')
                    .append(num(counter("depin.node.sla.attempts", "outcome", "late_first_byte"))).append("]}");
        }
        b.append('}');
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.9g", v) : "null";
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** @return the page */
    static byte[] page() {
        return PAGE.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }

    private static final String PAGE = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>depin node</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font:14px system-ui,sans-serif;margin:16px;background:#f6f7f9;color:#222}
            h1{font-size:18px;margin:0 0 4px} #sub{color:#666;margin-bottom:12px}
            .grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}
            .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}
            .card h2{font-size:14px;margin:0 0 6px} svg{width:100%;height:220px}
            .note{color:#888;font-size:12px} .kpi{font-size:22px;font-weight:600}
            </style></head><body>
            <h1>depin provider node <span id="node"></span></h1><div id="sub">loading…</div>
            <div class="grid">
            <div class="card"><h2>Earnings at the node's price (USD, cumulative)</h2><div class="kpi" id="earned"></div>
            <svg id="c-earn" viewBox="0 0 600 220" preserveAspectRatio="none"></svg></div>
            <div class="card"><h2>Attempts completed and failed (cumulative)</h2>
            <svg id="c-jobs" viewBox="0 0 600 220" preserveAspectRatio="none"></svg>
            <div class="note"><span style="color:#2ca02c">■</span> completed <span style="color:#d62728">■</span> failed</div></div>
            <div class="card"><h2>GPU utilisation (%) and temperature (°C)</h2>
            <svg id="c-gpu" viewBox="0 0 600 220" preserveAspectRatio="none"></svg><div class="note" id="gpuwhy"></div></div>
            <div class="card"><h2>Attempt latency (completed attempts per bucket, seconds)</h2>
            <svg id="c-lat" viewBox="0 0 600 220" preserveAspectRatio="none"></svg><div class="note" id="latn"></div></div>
            <div class="card"><h2>SLA compliance this period (% good, as the node measures it)</h2><div class="kpi" id="slak"></div>
            <svg id="c-sla" viewBox="0 0 600 220" preserveAspectRatio="none"></svg><div class="note" id="slan"></div></div>
            </div>
            <script>
            const NS="http://www.w3.org/2000/svg";
            function el(n,a){const e=document.createElementNS(NS,n);for(const k in a)e.setAttribute(k,a[k]);return e;}
            function frame(svg){svg.replaceChildren();svg.appendChild(el("rect",{x:40,y:10,width:550,height:180,fill:"#fbfbfb",stroke:"#ccc"}));}
            function line(svg,xs,ys,color,lo,hi){
              const pts=[];const x0=xs[0],x1=xs[xs.length-1];
              for(let i=0;i<xs.length;i++){if(ys[i]==null)continue;
                const x=40+(x1>x0?(xs[i]-x0)/(x1-x0):1)*550, y=190-(hi>lo?(ys[i]-lo)/(hi-lo):0)*180;
                pts.push(x.toFixed(1)+","+y.toFixed(1));}
              if(pts.length===1)pts.unshift("40,"+pts[0].split(",")[1]);
              svg.appendChild(el("polyline",{points:pts.join(" "),fill:"none",stroke:color,"stroke-width":4}));}
            function label(svg,x,y,t){const e=el("text",{x:x,y:y,"font-size":12,fill:"#555"});e.textContent=t;svg.appendChild(e);}
            function range(a){let lo=Infinity,hi=-Infinity;for(const v of a){if(v==null)continue;lo=Math.min(lo,v);hi=Math.max(hi,v);}
              if(lo===Infinity){lo=0;hi=1;} if(hi===lo)hi=lo+1; return [Math.min(0,lo),hi];}
            function dur(sec){const ms=sec*1000;return ms>=1000?sec.toPrecision(2)+"s":ms>=100?Math.round(ms)+"ms":ms.toPrecision(2)+"ms";}
            function draw(d){
              document.getElementById("node").textContent=d.node;
              const p=d.points, xs=p.map(q=>q[0]);
              document.getElementById("sub").textContent="last "+p.length+" readings, one every "+d.every+" s; updated "+new Date().toLocaleTimeString();
              const earn=p.map(q=>q[1]); let s=document.getElementById("c-earn"); frame(s);
              let [lo,hi]=range(earn); line(s,xs,earn,"#1f77b4",lo,hi); label(s,2,20,"$"+hi.toPrecision(3)); label(s,2,190,"$"+lo);
              document.getElementById("earned").textContent="$"+(earn.length?earn[earn.length-1]:0).toFixed(6);
              const done=p.map(q=>q[2]), bad=p.map(q=>q[3]); s=document.getElementById("c-jobs"); frame(s);
              [lo,hi]=range(done.concat(bad)); line(s,xs,done,"#2ca02c",lo,hi); line(s,xs,bad,"#d62728",lo,hi); label(s,2,20,String(hi));
              s=document.getElementById("c-gpu"); frame(s);
              if(d.gpu){line(s,xs,p.map(q=>q[4]),"#9467bd",0,100);line(s,xs,p.map(q=>q[5]),"#ff7f0e",0,100);label(s,2,20,"100");
                document.getElementById("gpuwhy").innerHTML='<span style="color:#9467bd">■</span> utilisation <span style="color:#ff7f0e">■</span> temperature';}
              else{label(s,60,105,"no GPU readings");document.getElementById("gpuwhy").textContent=d.gpuWhy;}
              s=document.getElementById("c-lat"); frame(s);
              const b=d.latency.buckets; let prev=0; const bars=[];
              for(const [le,c] of b){bars.push([le,c-prev]);prev=c;}
              const shown=bars.filter(x=>x[1]>0); const maxc=Math.max(1,...shown.map(x=>x[1]));
              const w=550/Math.max(1,shown.length);
              shown.forEach((x,i)=>{const h=180*x[1]/maxc;
                s.appendChild(el("rect",{x:40+i*w+2,y:190-h,width:Math.max(1,w-4),height:h,fill:"#17becf"}));
                if(shown.length<=12||i%Math.ceil(shown.length/12)===0)label(s,40+i*w+2,205,dur(x[0]));});
              document.getElementById("latn").textContent=d.latency.count+" completed attempt(s)";
              s=document.getElementById("c-sla"); frame(s);
              if(d.sla){const c=p.map(q=>q[6]==null?null:100*q[6]); const lo=Math.min(90,...c.filter(v=>v!=null));
                for(const [below,pct] of d.sla.tiers){if(below<lo)continue;const y=190-(below-lo)/(100-lo)*180;
                  s.appendChild(el("line",{x1:40,x2:590,y1:y,y2:y,stroke:"#bbb","stroke-dasharray":"6 4"}));
                  label(s,44,y-3,"below "+below+"%: "+pct+"% back");}
                line(s,xs,c,"#8c564b",lo,100); label(s,2,20,"100"); label(s,2,190,String(Math.round(lo)));
                const k=d.sla.counts; document.getElementById("slak").textContent=(c.length&&c[c.length-1]!=null?c[c.length-1].toFixed(2):"100")+" %";
                document.getElementById("slan").textContent=d.sla.terms+". Since start: "+k[0]+" good, "+k[1]+" late, "+k[2]
                  +" failed"+(k[3]>0?", "+k[3]+" with a late first byte":"")+". The buyer's clock adds the network; its measurement decides credits.";}
              else{label(s,60,105,"no SLA in this node's offer");document.getElementById("slan").textContent="start the node with --sla-within to offer one";}
            }
            async function tick(){try{const r=await fetch("dashboard.json",{cache:"no-store"});draw(await r.json());}
              catch(e){document.getElementById("sub").textContent="cannot reach the node: "+e;}}
            tick(); setInterval(tick, 3000);
            </script></body></html>
            """;
}
