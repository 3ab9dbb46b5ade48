package dev.depin.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/architecture.md is a map, and a map that names a class which no longer exists sends a
 * new contributor to the wrong room: every class, file and module it names in backticks must
 * exist in this repository (or, for the few JDK types it names, in the JDK).
 */
class ArchitectureDocTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** A backticked class name, optionally with a member: {@code `JobRun`}, {@code `Job.builder`}. */
    private static final Pattern CLASS = Pattern.compile("`([A-Z][A-Za-z0-9]+)(?:\\.[a-z][A-Za-z0-9]*)?`");
    /** A backticked file name with an extension: {@code `depin_kernels.cu`}. */
    private static final Pattern FILE = Pattern.compile("`([a-z][a-z0-9_]*\\.(?:cu|py|proto|md))`");
    private static final Pattern MODULE = Pattern.compile("\\b(depin-[a-z]+)\\b");

    @Test
    void everyNamedClassFileAndModuleExists() throws IOException {
        String doc = Files.readString(ROOT.resolve("docs/architecture.md"));
        Set<String> sources;
        Set<String> files;
        try (Stream<Path> s = Files.walk(ROOT)) {
            List<Path> all = s.filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git/")
                    && !p.toString().contains("/node_modules/") && Files.isRegularFile(p)).toList();
            sources = all.stream().map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".java"))
                    .map(n -> n.substring(0, n.length() - 5)).collect(Collectors.toSet());
            files = all.stream().map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
        List<String> missing = new ArrayList<>();
        Set<String> named = new TreeSet<>();
        Matcher m = CLASS.matcher(doc);
        while (m.find()) {
            String name = m.group(1);
            named.add(name);
            if (!sources.contains(name) && !isJdkType(name)) {
                missing.add("class " + name);
            }
        }
        m = FILE.matcher(doc);
        while (m.find()) {
            named.add(m.group(1));
            if (!files.contains(m.group(1))) {
                missing.add("file " + m.group(1));
            }
        }
        m = MODULE.matcher(doc);
        while (m.find()) {
            named.add(m.group(1));
            if (!Files.isDirectory(ROOT.resolve(m.group(1)))) {
                missing.add("module " + m.group(1));
            }
        }
        System.out.println("docs/architecture.md names " + named.size() + " classes, files and modules");
        assertTrue(named.size() > 40, "the map names the house's rooms: " + named);
        assertEquals(List.of(), missing, "docs/architecture.md names what does not exist: fix the page");
    }

    private static boolean isJdkType(String name) {
        for (String pkg : List.of("java.lang.", "java.util.", "java.nio.")) {
            try {
                Class.forName(pkg + name, false, ArchitectureDocTest.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException e) {
                // not in this package
            }
        }
        return false;
    }
}
