package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.loader.ServerInfo;

/** kl_util, port send and admin against a kern_loader in this JVM: their exact output lines and exit codes. */
class KlUtilCommandTest extends InJvmDaemon {
    Path script;

    @BeforeEach void start() {
        script = LoaderDemo.echoScript();
        assertThat(script).as("examples/echo-server is built before cli").isNotNull();
    }

    @Test void statusLoadUnloadDeleteAndErrors() throws Exception {
        assertThat(run("kl_util", "-s")).isEqualTo(new Run(0, "No servers active\n", ""));
        Run add = run("kl_util", "-a", script.toString());
        assertThat(add.code()).isZero();
        assertThat(add.out()).contains("echo: allocating from " + script, "echo: allocated");
        assertThat(run("kl_util").out()).isEqualTo("SERVER: echo Allocated\n");
        ServerInfo i = loader.info("echo");
        assertThat(run("kl_util", "-s", "echo").out()).isEqualTo("""
                SERVER: echo
                RELOCATABLE: %s
                STATUS: Allocated at address 0x%x for 0x%x bytes
                PORTS: echo(advertised)
                """.formatted(script.resolveSibling("echo-server.jar"), i.address(), i.size()));

        Run send = run("port", "send", "echo", "hello");
        assertThat(send.code()).isZero();
        assertThat(send.out()).startsWith("reply from echo: id 1, code 0, 5 bytes, ").endsWith(" us\nhello\n");
        assertThat(run("kl_util", "-s").out()).isEqualTo("SERVER: echo Loaded\n");
        assertThat(run("kl_util", "-k").out()).contains("Index Refs Address").contains("Loaded      echo (0.1.0-SNAPSHOT) <> {} 0");

        Run unload = run("kl_util", "-u", "echo");
        assertThat(unload.code()).isZero();
        assertThat(unload.out()).contains("echo: unloading", "echo: unloaded");
        Run again = run("kl_util", "-u", "echo");
        assertThat(again.code()).isEqualTo(104);
        assertThat(again.err()).isEqualTo("kl_util: echo: not loaded (Allocated): kern_loader error 104 (server not loaded)\n");
        assertThat(run("kl_util", "-l", "nope").err()).isEqualTo("kl_util: nope: unknown server: kern_loader error 102 (unknown server)\n");
        assertThat(run("kl_util", "-l", "nope").code()).isEqualTo(102);

        Path bad = dir.resolve("bad.kern_server");
        Files.writeString(bad, "SERVER_NAME bad\nRELOC x.jar\nJUNK\n");
        Run badAdd = run("kl_util", "-a", bad.toString());
        assertThat(badAdd.code()).isEqualTo(111);
        assertThat(badAdd.err()).contains(bad + ":3: unknown keyword 'JUNK': kern_loader error 111 (bad relocatable)");

        assertThat(run("kl_util", "-d", "echo").code()).isZero();
        assertThat(run("kl_util", "-s").out()).isEqualTo("No servers active\n");
        Run gone = run("port", "send", "echo", "x");
        assertThat(gone.code()).isEqualTo(123);
    }

    @Test void adminCommandsAndExclusiveOptions() {
        Run ifc = run("admin", "ifconfig", "lo0");
        assertThat(ifc.code()).isZero();
        assertThat(ifc.out()).startsWith("lo0: flags=");
        Run badAdmin = run("admin", "ifconfig", "zz9");
        assertThat(badAdmin.code()).isEqualTo(124);
        assertThat(badAdmin.err()).contains("no interface zz9").contains("kern_loader error 124");
        assertThat(run("kl_util", "-l", "-u", "x").code()).as("exclusive options").isEqualTo(2);
    }

    /** Admin output was cut at 65,535 bytes (a str); from protocol 3 it arrives whole, in parts beyond 1 MiB. */
    @Test void adminOutputLongerThan64KiBArrivesWhole() {
        org.kextnet.kernel.config.KernelCommands k = new org.kextnet.kernel.config.KernelCommands(kernel);
        for (int i = 0; i < 3000; i++) k.execute("route add 10." + (i >> 8) + "." + (i & 255) + ".0/24 -interface lo0");
        String expected = k.execute("route show");
        assertThat(expected.length()).isGreaterThan(65_535 * 2);
        Run show = run("admin", "route", "show");
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(show.out()).isEqualTo(expected);
    }

    @Test void fastPathWithoutPicocli() throws Exception {
        loader.add(script);
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        System.setOut(new java.io.PrintStream(buf, true));
        int code, bad;
        try {
            code = KlUtil.fastMain(new String[] {"kl_util", "--socket", sock.toString(), "-s"}, System.nanoTime());
            bad = KlUtil.fastMain(new String[] {"kl_util", "-l", "-u", "echo"}, System.nanoTime());
        } finally {
            System.setOut(old);
        }
        assertThat(code).isZero();
        assertThat(buf.toString()).isEqualTo("SERVER: echo Allocated\n");
        assertThat(bad).as("conflicting options go to picocli").isEqualTo(-1);
    }

    @Test void noDaemon() throws Exception {
        server.close();
        Run r = run("kl_util", "-s");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("kl_util: kernel loader inactive (" + sock);
    }
}
