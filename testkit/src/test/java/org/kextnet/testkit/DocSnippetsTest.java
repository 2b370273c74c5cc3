package org.kextnet.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Every Java snippet of docs/extensions.md is the text of a source file here, compiled with these tests and run by
 * its own test: the line before each {@code ```java} fence names the file ({@code <!-- snippet: example/X.java -->},
 * invisible once rendered), and the snippet is that file from its first import to its end. Change the file and
 * paste it into the document (or the other way round); a snippet added to the document needs its file, and every
 * example under {@code example/} (its test need not be) is shown in the document.
 */
class DocSnippetsTest {
    private static final Path DOC = Path.of("..", "docs", "extensions.md");
    private static final Path SOURCES = Path.of("src", "test", "java", "org", "kextnet", "testkit");
    private static final Pattern FENCE = Pattern.compile("(?m)^```(\\w*)\n(.*?)^```$", Pattern.DOTALL);
    private static final Pattern MARKER = Pattern.compile("<!-- snippet: (\\S+\\.java) -->\n$");

    /** The file without its package line and the blank line after it: what a reader copies into a package of theirs. */
    private static String body(String file) throws IOException {
        String text = Files.readString(SOURCES.resolve(file));
        return text.substring(text.indexOf("\n\n") + 2);
    }

    record Snippet(int line, String file, String text) {}

    /** The document's {@code java} snippets with the file each names (null if none). */
    static List<Snippet> snippets(String doc) {
        List<Snippet> out = new ArrayList<>();
        Matcher m = FENCE.matcher(doc);
        while (m.find()) {
            String before = doc.substring(0, m.start());
            int line = (int) before.chars().filter(c -> c == '\n').count() + 1;
            assertThat(m.group(1)).as("%s:%d: a fence of Java that is not marked java", DOC, line).isNotIn("Java", "jshell", "jav");
            if (!m.group(1).equals("java")) continue;
            Matcher marker = MARKER.matcher(before);
            out.add(new Snippet(line, marker.find() ? marker.group(1) : null, m.group(2)));
        }
        return out;
    }

    @Test void everyJavaSnippetOfTheExtensionGuideIsACompiledSource() throws IOException {
        List<Snippet> snippets = snippets(Files.readString(DOC));
        assertThat(snippets).as("the guide has Java snippets").isNotEmpty();
        List<String> shown = new ArrayList<>();
        for (Snippet s : snippets) {
            assertThat(s.file()).as("%s:%d: the line before a java snippet names its source (<!-- snippet: example/X.java -->)", DOC, s.line())
                    .isNotNull();
            assertThat(SOURCES.resolve(s.file())).as("%s:%d", DOC, s.line()).isRegularFile();
            assertThat(s.text()).as("%s:%d shows %s as it is", DOC, s.line(), s.file()).isEqualTo(body(s.file()));
            shown.add(s.file());
        }
        try (Stream<Path> files = Files.list(SOURCES.resolve("example"))) {
            assertThat(shown).as("every example shown once (its test may be)").doesNotHaveDuplicates().containsAll(
                    files.map(f -> "example/" + f.getFileName()).filter(f -> !f.endsWith("Test.java")).toList());
        }
    }

    /** The check itself: an unmarked snippet, a marked one and a fence of another language. */
    @Test void snippetsAreFoundWithTheFileTheyName() {
        String doc = "text\n<!-- snippet: example/A.java -->\n```java\nclass A {}\n```\n\n```java\nclass B {}\n```\n```sh\nls\n```\n";
        assertThat(snippets(doc)).containsExactly(new Snippet(3, "example/A.java", "class A {}\n"), new Snippet(7, null, "class B {}\n"));
    }
}
