package dev.depin.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What a {@code module-info.java} would enforce, checked where one cannot be used (grpc-java's
 * jars split packages, so depin-grpc cannot be a named module: docs/decisions.md): no main
 * source imports an {@code internal} package of another module. depin-benchmarks is the one
 * exception, because it measures internals on purpose; it is not published for use.
 */
class ModuleBoundaryTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern IMPORT = Pattern.compile("(?m)^import\\s+(?:static\\s+)?(dev\\.depin\\.[a-z.]*internal)[.;]");
    private static final Pattern FQN = Pattern.compile("\\b(dev\\.depin\\.[a-z.]*internal)\\.[A-Z]");

    @Test
    void noModuleReachesIntoAnotherModulesInternalPackages() throws IOException {
        Map<String, String> owner = new HashMap<>();
        List<Path> sources = new ArrayList<>();
        try (Stream<Path> s = Files.walk(ROOT)) {
            s.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/java/")
                    && !p.toString().contains("/target/")).forEach(sources::add);
        }
        for (Path p : sources) {
            String rel = ROOT.relativize(p).toString();
            String module = rel.substring(0, rel.indexOf('/'));
            String pkg = rel.substring(rel.indexOf("/src/main/java/") + 15, rel.lastIndexOf('/')).replace('/', '.');
            owner.putIfAbsent(pkg, module);
        }
        List<String> violations = new ArrayList<>();
        int checked = 0;
        for (Path p : sources) {
            String rel = ROOT.relativize(p).toString();
            String module = rel.substring(0, rel.indexOf('/'));
            if (module.equals("depin-benchmarks")) {
                continue;
            }
            String text = Files.readString(p);
            for (Pattern pattern : List.of(IMPORT, FQN)) {
                Matcher m = pattern.matcher(text);
                while (m.find()) {
                    checked++;
                    String target = owner.get(m.group(1));
                    if (target != null && !target.equals(module)) {
                        violations.add(rel + " uses " + m.group(1) + " of " + target);
                    }
                }
            }
        }
        System.out.println("ModuleBoundaryTest: " + sources.size() + " main sources, " + checked
                + " uses of internal packages, all within their module");
        assertTrue(sources.size() > 100, "found the sources under " + ROOT);
        assertEquals(List.of(), violations, "use the owning module's API, or move the class into an exported package");
    }
}
