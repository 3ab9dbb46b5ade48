package dev.depin.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README quotes Quickstart.java; this keeps the quote and the compiled code identical. */
class ReadmeQuickstartTest {

    @Test
    void readme_quotesQuickstartExactly() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        String source = Files.readString(root.resolve("depin-examples/src/main/java/dev/depin/examples/Quickstart.java"));
        int start = source.indexOf('\n', source.indexOf("// tag::quickstart[]")) + 1;
        int end = source.indexOf("// end::quickstart[]");
        String snippet = source.substring(start, end).stripTrailing();
        String readme = Files.readString(root.resolve("README.md"));
        assertTrue(readme.contains("```java\n" + snippet + "\n```"),
                "README.md's quickstart block differs from Quickstart.java; copy the tagged region into README.md");
    }

    @Test
    void readme_firstCodeBlockHasExactlyTheTwoCommands() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        String readme = Files.readString(root.resolve("README.md"));
        int open = readme.indexOf("```\n");
        int close = readme.indexOf("\n```", open + 4);
        String[] lines = readme.substring(open + 4, close).split("\n");
        assertTrue(lines.length == 2 && lines[0].contains("depin.jar demo") && lines[1].equals("mvn -B verify"),
                "README's first code block must hold the demo line and the test line, got " + String.join(" | ", lines));
        String ci = Files.readString(root.resolve(".ci/run"));
        assertTrue(ci.lines().anyMatch(l -> l.equals(lines[1])), ".ci/run must run the README's test line");
    }

    @Test
    void quickstart_runs() {
        Quickstart.main(new String[0]);
    }
}
