package org.kextnet.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * Every Java snippet of docs/extensions.md is the text of a source file compiled and run here, from its first
 * import to its end: the example extension ({@code example/DnsWatch}) and its test ({@code example/DnsWatchTest}).
 * Change the file and paste it into the document (or the other way round); a snippet added to the document needs
 * a file here too.
 */
class DocSnippetsTest {
    private static final Path DOC = Path.of("..", "docs", "extensions.md");
    private static final Path SOURCES = Path.of("src", "test", "java", "org", "kextnet", "testkit", "example");
    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL);

    /** The file without its package line and the blank line after it: what a reader copies into a package of theirs. */
    private static String body(String file) throws IOException {
        String text = Files.readString(SOURCES.resolve(file));
        return text.substring(text.indexOf("\n\n") + 2);
    }

    @Test void everyJavaSnippetOfTheExtensionGuideIsACompiledSource() throws IOException {
        List<String> snippets = new ArrayList<>();
        Matcher m = JAVA_BLOCK.matcher(Files.readString(DOC));
        while (m.find()) snippets.add(m.group(1));
        assertThat(snippets).as("the java snippets of %s, in order", DOC)
                .containsExactly(body("DnsWatch.java"), body("DnsWatchTest.java"));
    }
}
