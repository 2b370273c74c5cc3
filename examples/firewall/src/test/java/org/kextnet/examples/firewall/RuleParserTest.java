package org.kextnet.examples.firewall;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The rule grammar: what it reads, how it prints it back, and the mistakes it names. */
class RuleParserTest {
    static List<Rule> rules(String text) throws RuleParser.RuleException {
        return RuleParser.parse(text).rules();
    }

    @Test void readsEveryFieldAndPrintsItBackTheSameWay() throws Exception {
        String text = """
                # the task's examples, and the rest of the grammar
                block in proto udp to 10.0.0.0/8 port 53
                allow out all
                allow in on wire0 proto tcp from 10.1.0.0/16 port 1024-65535 to 10.0.0.1 port 22
                block proto 47 all
                block in from 192.168.0.0/24
                allow on tun0 proto icmp all
                default block
                """;
        RuleParser.Parsed p = RuleParser.parse(text);
        assertThat(p.defaultBlock()).isTrue();
        assertThat(p.rules()).extracting(Rule::toString).containsExactly(
                "block in proto udp to 10.0.0.0/8 port 53",
                "allow out all",
                "allow in on wire0 proto tcp from 10.1.0.0/16 port 1024-65535 to 10.0.0.1 port 22",
                "block proto 47 all",
                "block in from 192.168.0.0/24",
                "allow on tun0 proto icmp all");
        Rule r = p.rules().get(2);
        assertThat(r).isEqualTo(new Rule(false, Rule.IN, "wire0", 6, 0x0a010000, 16, 1024, 65535, 0x0a000001, 32, 22, 22));
        // What it prints, it reads again as the same rules.
        String printed = String.join("\n", p.rules().stream().map(Rule::toString).toList());
        assertThat(rules(printed)).isEqualTo(p.rules());
    }

    @Test void anEmptyTextIsAnEmptySetThatAllows() throws Exception {
        assertThat(RuleParser.parse("")).isEqualTo(new RuleParser.Parsed(List.of(), false));
        assertThat(RuleParser.parse("  # nothing\n\n")).isEqualTo(new RuleParser.Parsed(List.of(), false));
        assertThat(RuleParser.parse("default allow").defaultBlock()).isFalse();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "blok in all                                     | 1 | expected allow, block or default",
            "allow                                           | 1 | a rule that matches everything says so: 'allow all'",
            "allow in all to any                             | 1 | nothing may follow 'all'",
            "block in proto udp to 10.0.0.0/8 port 53 x      | 1 | unexpected 'x'",
            "block in proto xdp all                          | 1 | 'xdp' is not tcp, udp, icmp or a protocol number (0..255)",
            "block proto 256 all                             | 1 | '256' is not tcp, udp, icmp or a protocol number (0..255)",
            "block in to 10.0.0.1/8                          | 1 | 10.0.0.1/8 has host bits set (the network is 10.0.0.0/8)",
            "block in to 10.0.0.0/33                         | 1 | '33' is not a prefix length (0..32)",
            "block in to 10.0.0                              | 1 | '10.0.0' is not an IPv4 address",
            "block in to 10.0.300.1                          | 1 | '300' is not an IPv4 address (0..255)",
            "block in to any port 53                         | 1 | 'port' needs 'proto tcp' or 'proto udp' before it",
            "block in proto icmp to any port 53              | 1 | 'port' needs 'proto tcp' or 'proto udp'",
            "block in proto tcp to any port 70000            | 1 | '70000' is not a port (0..65535)",
            "block in proto tcp to any port 90-80            | 1 | port range 90-80 is empty",
            "block in proto tcp to any port                  | 1 | expected a port or a range after 'port' at the end of the rule",
            "block in on                                     | 1 | expected an interface name after 'on' at the end of the rule",
            "block in on wire0;rm all                        | 1 | 'wire0;rm' is not an interface name",
            "default deny                                    | 1 | expected 'default allow' or 'default block'",
    })
    void mistakesAreNamedWithTheirLine(String line, int lineNo, String message) {
        assertThatThrownBy(() -> rules(line.strip()))
                .isInstanceOf(RuleParser.RuleException.class)
                .hasMessageStartingWith("line " + lineNo + ": " + message)
                .satisfies(e -> assertThat(((RuleParser.RuleException) e).line()).isEqualTo(lineNo));
    }

    @Test void theFirstMistakeRefusesTheWholeTextAndNamesItsLine() {
        assertThatThrownBy(() -> rules("allow out all\n# fine so far\nblock in proto udp to 10.0.0.0/8 port 53\nblock sideways all\nallow in all"))
                .hasMessage("line 4: unexpected 'sideways' (a rule reads: allow|block [in|out] [on IFACE] [proto P] all"
                        + " | ... [from HOSTS [port PORTS]] [to HOSTS [port PORTS]])");
        assertThatThrownBy(() -> rules("default allow\nallow out all\ndefault block")).hasMessage("line 3: a second 'default' line");
    }

    @Test void aSetIsBounded() {
        String many = "block in proto udp to any port 9\n".repeat(RuleParser.MAX_RULES + 1);
        assertThatThrownBy(() -> rules(many)).hasMessage("line " + (RuleParser.MAX_RULES + 1) + ": more than 10000 rules");
    }
}
