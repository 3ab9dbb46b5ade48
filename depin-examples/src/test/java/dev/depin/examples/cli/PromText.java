package dev.depin.examples.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser of Prometheus' text exposition format (version 0.0.4), as a scraper reads
 * it: {@code # HELP} and {@code # TYPE} lines, then samples {@code name{label="value",...} value},
 * with the format's escapes in label values. Every sample must belong to a family with a
 * TYPE; a histogram's buckets must be cumulative, ordered by {@code le}, end with
 * {@code +Inf}, and equal its {@code _count}. Anything else fails the parse.
 */
final class PromText {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"");

    /** One sample: its name and labels (sorted), and value. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    final Map<String, String> types = new HashMap<>();
    final List<Sample> samples = new ArrayList<>();

    private PromText() {
    }

    static PromText parse(String text) {
        PromText p = new PromText();
        int n = 0;
        for (String line : text.split("\n", -1)) {
            n++;
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("#")) {
                String[] f = line.split(" ", 4);
                if (f.length >= 3 && f[1].equals("TYPE")) {
                    require(NAME.matcher(f[2]).matches(), n, line);
                    require(f.length == 4 && f[3].matches("counter|gauge|histogram|summary|untyped"), n, line);
                    require(p.types.put(f[2], f[3]) == null, n, "a second TYPE for " + f[2]);
                } else if (f.length >= 3 && f[1].equals("HELP")) {
                    require(NAME.matcher(f[2]).matches(), n, line);
                }
                continue;
            }
            p.samples.add(sample(line, n));
        }
        for (Sample s : p.samples) {
            require(p.family(s.name()) != null, 0, "sample " + s.name() + " has no TYPE");
        }
        p.checkHistograms();
        return p;
    }

    private static Sample sample(String line, int n) {
        Matcher m = NAME.matcher(line);
        require(m.lookingAt(), n, line);
        String name = m.group();
        int at = m.end();
        Map<String, String> labels = new TreeMap<>();
        if (at < line.length() && line.charAt(at) == '{') {
            at++;
            while (line.charAt(at) != '}') {
                Matcher l = LABEL.matcher(line).region(at, line.length());
                require(l.lookingAt(), n, line);
                String v = l.group(2).replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\");
                require(labels.put(l.group(1), v) == null, n, "label repeated: " + line);
                at = l.end();
                if (line.charAt(at) == ',') {
                    at++;
                }
            }
            at++;
        }
        require(at < line.length() && line.charAt(at) == ' ', n, line);
        String[] rest = line.substring(at + 1).split(" ");
        require(rest.length == 1 || rest.length == 2 && rest[1].matches("-?\\d+"), n, line);
        double value = switch (rest[0]) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                require(rest[0].matches("-?[0-9.eE+-]+"), n, line);
                yield Double.parseDouble(rest[0]);
            }
        };
        return new Sample(name, labels, value);
    }

    /** The family a sample belongs to: its own name, or the name less _bucket/_count/_sum/_total. */
    String family(String name) {
        if (types.containsKey(name)) {
            return name;
        }
        for (String suffix : List.of("_bucket", "_count", "_sum", "_total", "_created", "_max")) {
            if (name.endsWith(suffix) && types.containsKey(name.substring(0, name.length() - suffix.length()))) {
                return name.substring(0, name.length() - suffix.length());
            }
        }
        return null;
    }

    private void checkHistograms() {
        Map<String, List<Sample>> series = new LinkedHashMap<>();
        for (Sample s : samples) {
            String f = family(s.name());
            if ("histogram".equals(types.get(f)) && s.name().equals(f + "_bucket")) {
                Map<String, String> rest = new TreeMap<>(s.labels());
                rest.remove("le");
                series.computeIfAbsent(f + rest, k -> new ArrayList<>()).add(s);
            }
        }
        for (Map.Entry<String, List<Sample>> e : series.entrySet()) {
            double le = Double.NEGATIVE_INFINITY;
            double count = 0;
            for (Sample b : e.getValue()) {
                double bound = b.labels().get("le").equals("+Inf") ? Double.POSITIVE_INFINITY
                        : Double.parseDouble(b.labels().get("le"));
                require(bound > le, 0, "buckets out of order in " + e.getKey());
                require(b.value() >= count, 0, "buckets not cumulative in " + e.getKey());
                le = bound;
                count = b.value();
            }
            require(le == Double.POSITIVE_INFINITY, 0, "no +Inf bucket in " + e.getKey());
            Sample first = e.getValue().get(0);
            Map<String, String> labels = new TreeMap<>(first.labels());
            labels.remove("le");
            String family = family(first.name());
            require(value(family + "_count", labels) == count, 0, "+Inf bucket != _count in " + e.getKey());
        }
    }

    /** @return the one sample's value with exactly these labels; fails when there is none */
    double value(String name, Map<String, String> labels) {
        for (Sample s : samples) {
            if (s.name().equals(name) && s.labels().equals(new TreeMap<>(labels))) {
                return s.value();
            }
        }
        throw new AssertionError("no sample " + name + labels + " in the scrape");
    }

    /** @return the one sample's value whose labels include these; fails unless exactly one matches */
    double value(String name, String... labelPairs) {
        List<Sample> found = new ArrayList<>();
        for (Sample s : samples) {
            boolean match = s.name().equals(name);
            for (int i = 0; match && i < labelPairs.length; i += 2) {
                match = labelPairs[i + 1].equals(s.labels().get(labelPairs[i]));
            }
            if (match) {
                found.add(s);
            }
        }
        if (found.size() != 1) {
            throw new AssertionError(found.size() + " samples " + name + List.of(labelPairs) + " in the scrape: " + found);
        }
        return found.get(0).value();
    }

    private static void require(boolean ok, int line, String what) {
        if (!ok) {
            throw new AssertionError("not Prometheus text format" + (line > 0 ? " at line " + line : "") + ": " + what);
        }
    }
}
