package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.loader.port.ReplyPort;

class KernLoaderTest {
    @TempDir Path dir;
    KernLoader loader = new KernLoader(LoaderOptions.defaults().withTimeouts(1_000, 500));

    @AfterEach void close() {
        loader.close();
    }

    static void failsWith(LoaderError e, org.assertj.core.api.ThrowableAssert.ThrowingCallable c) {
        assertThatThrownBy(c).isInstanceOfSatisfying(LoaderException.class, x -> assertThat(x.code()).as(x.toString()).isEqualTo(e.code()));
    }

    ServerState state(String name) throws LoaderException {
        return loader.info(name).state();
    }

    @Test void allocateDemandLoadUnloadReload() throws Exception {
        ServerInfo i = loader.add(Servers.echo(dir, "echo"));
        assertThat(i.state()).isEqualTo(ServerState.ALLOCATED);
        assertThat(i.address()).isGreaterThanOrEqualTo(0x1000_0000L);
        assertThat(i.size()).isPositive().isEqualTo(i.size() & -0x1000);
        assertThat(i.ports()).containsExactly(new ServerInfo.PortInfo("echo", true));
        assertThat(i.version()).isEqualTo("1.0");
        for (int cycle = 0; cycle < 3; cycle++) {
            Ports.Result r = Ports.send(loader, "echo", 7, ("hi " + cycle).getBytes());
            assertThat(r.status()).isZero();
            assertThat(r.id()).isEqualTo(7);
            assertThat(r.text()).isEqualTo("hi " + cycle);
            assertThat(state("echo")).isEqualTo(ServerState.LOADED);
            loader.unload("echo");
            assertThat(state("echo")).isEqualTo(ServerState.ALLOCATED);
            assertThat(loader.names().lookup("echo")).as("re-advertised").isNotNull();
        }
        assertThat(loader.log().recent()).extracting(LogHub.Line::text)
                .contains("echo: message on port echo, loading", "echo: loaded", "echo: unloaded");
        loader.load("echo");
        loader.load("echo"); // loading a loaded server is a no-op
        failsWith(LoaderError.SERVER_EXISTS, () -> loader.add(dir.resolve("echo.kern_server")));
        loader.delete("echo");
        assertThat(loader.list()).isEmpty();
        assertThat(loader.names().lookup("echo")).isNull();
        failsWith(LoaderError.UNKNOWN_SERVER, () -> loader.load("echo"));
    }

    @Test void wrongStatesAreRefusedAndChangeNothing() throws Exception {
        loader.add(Servers.echo(dir, "echo"));
        failsWith(LoaderError.SERVER_UNLOADED, () -> loader.unload("echo"));
        failsWith(LoaderError.UNKNOWN_SERVER, () -> loader.unload("nope"));
        failsWith(LoaderError.UNKNOWN_SERVER, () -> loader.delete("nope"));
        assertThat(state("echo")).isEqualTo(ServerState.ALLOCATED);
    }

    @Test void badScriptDoesNotDisturbOtherServers() throws Exception {
        loader.add(Servers.echo(dir, "echo"));
        loader.load("echo");
        Path bad = TestJars.script(dir, "bad.kern_server", "SERVER_NAME bad\nRELOC echo-server.jar\nBOGUS\n");
        assertThatThrownBy(() -> loader.add(bad)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(111);
            assertThat(e.getMessage()).contains(bad + ":3:");
        });
        Path clash = TestJars.script(dir, "clash.kern_server", Servers.script("other", "echo-server.jar", "echo", "ADVERTIZED_PORT echo\nMAP echo echo\n"));
        failsWith(LoaderError.PORT_EXISTS, () -> loader.add(clash));
        assertThat(loader.list()).extracting(ServerInfo::name, ServerInfo::state)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("echo", ServerState.LOADED));
        assertThat(Ports.send(loader, "echo", 1, "still".getBytes()).text()).isEqualTo("still");
        assertThat(loader.names().lookup("other")).isNull();
    }

    @Test void linkErrorsAtAllocation() throws Exception {
        TestJars.jar(dir, "linky.jar", "t.Linky", "1", null, Map.of("t.Linky", Servers.LINKY));
        Path ok = TestJars.script(dir, "ok.kern_server", Servers.script("ok", "linky.jar", "good", "").replace("good 0", "good ARG") + "INIT init 3\n");
        loader.add(ok);
        assertThat(Ports.send(loader, "ok", 0, new byte[0]).id()).as("symbolic argument read at load").isEqualTo(7);

        assertLink("missing.kern_server", Servers.script("m", "linky.jar", "absent", ""), 4, "no routine absent");
        assertLink("wrong.kern_server", Servers.script("w", "linky.jar", "wrong", ""), 4, "routine wrong returns void; expected public int wrong(KernServ, PortMessage, int)");
        assertLink("initsig.kern_server", Servers.script("i", "linky.jar", "good", "INIT good 0\n"), 5, "wrong signature");
        assertLink("sym.kern_server", Servers.script("s", "linky.jar", "good", "").replace("good 0", "good nope"), 4, "nope is not a public static int field");

        TestJars.jar(dir, "leaky.jar", "t.Leaky", "1", null, Map.of("t.Leaky", Servers.LEAKY_SIGNATURE));
        assertLink("leaky.kern_server", Servers.script("l", "leaky.jar", "good", ""), 4, "outside the KPI");
        assertThat(loader.list()).extracting(ServerInfo::name).containsExactly("ok");
    }

    private void assertLink(String file, String text, int line, String fragment) throws Exception {
        Path p = TestJars.script(dir, file, text);
        assertThatThrownBy(() -> loader.add(p)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).as(e.toString()).isEqualTo(108);
            assertThat(e.getMessage()).contains(p + ":" + line + ":").contains(fragment);
        });
    }

    @Test void jarProblems() throws Exception {
        TestJars.jar(dir, "noclass.jar", null, "1", null, Map.of("t.Linky", Servers.LINKY));
        TestJars.jar(dir, "noversion.jar", "t.Linky", null, null, Map.of("t.Linky", Servers.LINKY));
        TestJars.jar(dir, "absent.jar", "t.Absent", "1", null, Map.of("t.Linky", Servers.LINKY));
        Files.writeString(dir.resolve("text.jar"), "not a jar");
        assertJar("noclass.jar", 111, "no Kext-Server-Class");
        assertJar("noversion.jar", 111, "no Kext-Server-Version");
        assertJar("absent.jar", 108, "t.Absent is not in the jar");
        assertJar("text.jar", 111, "");
        Path missing = TestJars.script(dir, "missing.kern_server", Servers.script("x", "gone.jar", "good", ""));
        failsWith(LoaderError.CANT_OPEN_SERVER, () -> loader.add(missing));
    }

    private void assertJar(String jar, int code, String fragment) throws Exception {
        Path p = TestJars.script(dir, jar + ".kern_server", Servers.script("j", jar, "good", ""));
        assertThatThrownBy(() -> loader.add(p)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).as(e.toString()).isEqualTo(code);
            assertThat(e.getMessage()).contains(fragment);
        });
    }

    @Test void startLoadsAtOnceAndWireInitialisesEveryClass() throws Exception {
        TestJars.jar(dir, "wired.jar", "t.Wired", "1", null, Servers.WIRED);
        loader.add(TestJars.script(dir, "w.kern_server", Servers.script("wired", "wired.jar", "serve", "WIRE\nSTART\n")));
        ServerInfo i = loader.info("wired");
        assertThat(i.state()).isEqualTo(ServerState.LOADED);
        assertThat(System.getProperty("kextnet.test.helper.kern_server:wired")).as("helper initialised at load").isEqualTo("1");
        long classBytes = TestJars.compile(Servers.WIRED).values().stream().mapToLong(b -> b.length).sum();
        assertThat(i.wired()).isEqualTo(classBytes);
        assertThat(Ports.send(loader, "wired", 0, new byte[0]).text()).isEqualTo("helper");

        loader.add(TestJars.script(dir, "u.kern_server", Servers.script("unwired", "wired.jar", "serve", "START\n")));
        assertThat(System.getProperty("kextnet.test.helper.kern_server:unwired")).as("no WIRE: not yet initialised").isNull();
        assertThat(loader.info("unwired").wired()).isZero();
        assertThat(Ports.send(loader, "unwired", 0, new byte[0]).text()).isEqualTo("helper");
        assertThat(System.getProperty("kextnet.test.helper.kern_server:unwired")).isEqualTo("1");
    }

    @Test void initThatThrowsFaultsTheServerAndFailsQueuedMessages() throws Exception {
        TestJars.jar(dir, "faulty.jar", "t.Faulty", "1", null, Map.of("t.Faulty", Servers.FAULTY));
        loader.add(TestJars.script(dir, "f.kern_server", Servers.script("f", "faulty.jar", "serve", "INIT init 1\n")));
        Ports.Result r = Ports.send(loader, "f", 0, new byte[0]);
        assertThat(r.status()).isEqualTo(LoaderError.SERVER_WONT_LOAD.code());
        ServerInfo i = loader.info("f");
        assertThat(i.state()).isEqualTo(ServerState.FAULTED);
        assertThat(i.fault()).contains("INIT init failed").contains("boom");
        assertThat(i.faults()).isEqualTo(1);
        assertThat(loader.names().lookup("f")).as("ports released").isNull();
        failsWith(LoaderError.SERVER_WONT_LOAD, () -> loader.load("f"));
        // A Faulted server is replaced by adding it again.
        loader.add(TestJars.script(dir, "f.kern_server", Servers.script("f", "faulty.jar", "serve", "INIT init 2\n")));
        failsWith(LoaderError.SERVER_WONT_LOAD, () -> loader.load("f"));
        assertThat(loader.info("f").fault()).contains("INIT init returned 5");
    }

    @Test void freeThatThrowsForcesTheUnload() throws Exception {
        TestJars.jar(dir, "faulty.jar", "t.Faulty", "1", null, Map.of("t.Faulty", Servers.FAULTY));
        loader.add(TestJars.script(dir, "f.kern_server", Servers.script("f", "faulty.jar", "serve", "FREE free 1\nSTART\n")));
        assertThat(state("f")).isEqualTo(ServerState.LOADED);
        assertThatThrownBy(() -> loader.unload("f")).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(114);
            assertThat(e.getMessage()).contains("FREE free threw").contains("forcibly detached and deallocated");
        });
        assertThat(state("f")).isEqualTo(ServerState.FAULTED);
        assertThat(loader.names().lookup("f")).isNull();
    }

    @Test void registrationsLeftPastTheTimeoutForceTheUnload() throws Exception {
        TestJars.jar(dir, "faulty.jar", "t.Faulty", "1", null, Map.of("t.Faulty", Servers.FAULTY));
        loader.add(TestJars.script(dir, "f.kern_server", Servers.script("f", "faulty.jar", "serve", "INIT init 3\nSTART\n")));
        assertThat(loader.info("f").registrations()).containsEntry("timeout", 1);
        assertThatThrownBy(() -> loader.unload("f")).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(114);
            assertThat(e.getMessage()).contains("still holds registrations {timeout=1}");
        });
        assertThat(loader.timer().getQueue()).as("the timeout was cancelled").isEmpty();
    }

    @Test void freeThatHangsForcesTheUnload() throws Exception {
        TestJars.jar(dir, "faulty.jar", "t.Faulty", "1", null, Map.of("t.Faulty", Servers.FAULTY));
        loader.add(TestJars.script(dir, "f.kern_server", Servers.script("f", "faulty.jar", "serve", "FREE free 4\nSTART\n")));
        assertThatThrownBy(() -> loader.unload("f")).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(114);
            assertThat(e.getMessage()).contains("did not return within");
        });
    }

    @Test void dependenciesLoadFirstAndHoldReferences() throws Exception {
        TestJars.jar(dir, "lib.jar", "lib.Lib", "2.0", null, Servers.LIB);
        Map<String, String> both = new java.util.HashMap<>(Servers.USER);
        both.putAll(Servers.LIB);
        TestJars.jar(dir, "user.jar", "usr.User", "1.0", "lib", both, java.util.Set.of("usr.User"));
        loader.add(TestJars.script(dir, "lib.kern_server", "SERVER_NAME lib\nRELOC lib.jar\nINIT init\nSTART\n"));
        loader.unload("lib");
        loader.add(TestJars.script(dir, "user.kern_server", Servers.script("user", "user.jar", "serve", "")));
        assertThat(Ports.send(loader, "user", 0, "kern".getBytes()).text()).isEqualTo("hello kern");
        assertThat(state("lib")).isEqualTo(ServerState.LOADED);
        assertThat(loader.info("lib").refs()).isEqualTo(1);
        failsWith(LoaderError.WONT_UNLOAD, () -> loader.unload("lib"));
        failsWith(LoaderError.WONT_UNLOAD, () -> loader.delete("lib"));
        assertThat(state("lib")).as("refused: unchanged").isEqualTo(ServerState.LOADED);
        assertThat(StatusFormat.kextstat(loader.list())).contains("user (1.0) <" + loader.info("lib").index() + ">");
        loader.unload("user");
        assertThat(loader.info("lib").refs()).isZero();
        loader.unload("lib");
        // abort takes dependents down first
        loader.load("user");
        assertThat(loader.abort(false)).isEmpty();
        assertThat(loader.list()).isEmpty();
    }

    @Test void changedJarIsReallocatedBeforeLoading() throws Exception {
        TestJars.jar(dir, "v.jar", "t.Versioned", "1", null, Servers.versioned("v1"));
        loader.add(TestJars.script(dir, "v.kern_server", Servers.script("v", "v.jar", "serve", "")));
        assertThat(Ports.send(loader, "v", 0, new byte[0]).text()).isEqualTo("v1");
        loader.unload("v");
        TestJars.jar(dir, "v.jar", "t.Versioned", "2", null, Servers.versioned("v2"));
        assertThat(Ports.send(loader, "v", 0, new byte[0]).text()).isEqualTo("v2");
        assertThat(loader.info("v").version()).isEqualTo("2");
        assertThat(loader.log().recent()).extracting(LogHub.Line::text).contains("v: relocatable changed, re-initializing");
    }

    @Test void detachedServerIsNeverUnloaded() throws Exception {
        Path s = Servers.echo(dir, "echo");
        Files.writeString(s, Files.readString(s) + "DETACH\n");
        loader.add(s);
        loader.load("echo");
        failsWith(LoaderError.DETACHED, () -> loader.unload("echo"));
        loader.delete("echo");
        assertThat(state("echo")).isEqualTo(ServerState.DETACHED);
        assertThat(Ports.send(loader, "echo", 3, "x".getBytes()).text()).isEqualTo("x");
        failsWith(LoaderError.DETACHED, () -> loader.unload("echo"));
    }

    @Test void portDeathReachesTheServer() throws Exception {
        loader.add(Servers.echo(dir, "echo"));
        ReplyPort client = loader.names().newReplyPort((i, d) -> {});
        assertThat(Ports.sendAsync(loader, client, "echo", 1, "a".getBytes()).get(10, TimeUnit.SECONDS).text()).isEqualTo("a");
        assertThat(stats()).contains("deaths=0");
        loader.names().destroy(client);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String s;
        while (!(s = stats()).contains("deaths=1") && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(s).contains("deaths=1");
        assertThat(loader.log().recent()).extracting(LogHub.Line::text).anyMatch(t -> t.matches("echo: client reply port 0x[0-9a-f]+ died"));
    }

    private String stats() throws Exception {
        return Ports.send(loader, "echo", 0x7fff0001, new byte[0]).text();
    }

    @Test void kernServHandleIsRevokedAfterUnload() throws Exception {
        loader.add(Servers.echo(dir, "echo"));
        loader.load("echo");
        KernServ ks = loader.find("echo").loaded.context;
        loader.unload("echo");
        assertThatThrownBy(() -> ks.log(KernServ.LOG_INFO, "late")).isInstanceOf(IllegalStateException.class).hasMessageContaining("no longer valid");
        assertThatThrownBy(() -> ks.timeout(() -> {}, 1, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class);
    }
}
