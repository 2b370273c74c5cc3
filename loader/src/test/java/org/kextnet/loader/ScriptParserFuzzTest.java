package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.kextnet.loader.script.ScriptException;
import org.kextnet.loader.script.ScriptParser;
import org.kextnet.loader.script.ServerScript;

/**
 * The script parser on arbitrary text: it either returns a script that satisfies the format's rules or
 * throws a {@link ScriptException} naming the file, a line inside the text and a kern_loader code; never
 * anything else. Runs as a regression test in {@code mvn test}; {@code JAZZER_FUZZ=1} fuzzes.
 */
class ScriptParserFuzzTest {
    static final Path FILE = Path.of("/fuzz/f.kern_server");

    @FuzzTest(maxDuration = "30s")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        int lines = text.split("\r?\n|\r", -1).length;
        try {
            ServerScript s = ScriptParser.parse(FILE, text, p -> !p.toString().contains("missing"));
            assertThat(s.name()).isNotEmpty();
            assertThat(s.reloc()).isNotNull();
            assertThat(s.start() || !s.ports().isEmpty()).isTrue();
            assertThat(s.ports().stream().map(ServerScript.PortDecl::name).distinct().count()).isEqualTo(s.ports().size());
        } catch (ScriptException e) {
            assertThat(e.file()).isEqualTo(FILE);
            assertThat(e.line()).isBetween(0, lines);
            assertThat(e.code()).isIn(105, 107, 110, 111);
        }
    }
}
