package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.kextnet.kpi.server.LogPriority;

class LogHubTest {
    @Test void theDaemonsLogCarriesTimeAndPriorityAndKeepsToItsThreshold() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        LogHub log = new LogHub();
        log.echoTo(new PrintStream(bytes, true, StandardCharsets.UTF_8), LogPriority.NOTICE, true);
        log.log(LogPriority.ERR, "echo: faulted: boom");
        log.log(LogPriority.INFO, "echo: loading");              // below the threshold: kept, not echoed
        log.log(LogPriority.NOTICE, "all servers deallocated");

        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).hasSize(2);
        assertThat(lines[0]).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z err kern_loader: echo: faulted: boom");
        assertThat(lines[1]).endsWith(" notice kern_loader: all servers deallocated");
        assertThat(log.recent()).extracting(LogHub.Line::level).containsExactly(LogPriority.ERR, LogPriority.INFO, LogPriority.NOTICE);
    }

    @Test void aTerminalGetsTheTextOnly() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        LogHub log = new LogHub();
        log.echoTo(new PrintStream(bytes, true, StandardCharsets.UTF_8), LogPriority.INFO);
        log.log(LogPriority.INFO, "echo: loaded");
        log.log(LogPriority.DEBUG, "detail");
        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("kern_loader: echo: loaded" + System.lineSeparator());
    }

    @Test void syslogNumbersMapToPriorities() {
        assertThat(LogPriority.of(0)).isEqualTo(LogPriority.ERR);
        assertThat(LogPriority.of(5)).isEqualTo(LogPriority.NOTICE);
        assertThat(LogPriority.of(9)).isEqualTo(LogPriority.DEBUG);
        assertThat(LogPriority.WARNING.atLeast(LogPriority.NOTICE)).isTrue();
        assertThat(LogPriority.DEBUG.atLeast(LogPriority.NOTICE)).isFalse();
    }
}
