package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.loader.port.Message;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.ReplyPort;

/**
 * The NeXTSTEP 3.x forms of a server script, end to end through kern_loader: an unload script after the load script
 * (Appendix A's "# unload script:" listing) runs at unload and not at load; HMAP dispatches by message id through the
 * server's handler table; a port that is mapped but not advertised is reached through its server; LOADABLE writes the
 * image and status shows it; lines that are not commands are skipped with a warning.
 */
class NextstepFormatsTest {
    static final String SLOT = """
            package t;
            import java.nio.ByteBuffer;
            import java.util.Map;
            import java.util.function.ToIntBiFunction;
            import org.kextnet.kpi.server.*;
            public final class Slot {
                /** The handler table: message id -> handler (MiG's struct of function pointers). */
                public static final Map<Integer, ToIntBiFunction<KernServ, PortMessage>> slot_funcs = Map.of(
                        100, (ks, m) -> { m.reply(100, ("read " + new String(m.bytes())).getBytes()); return 0; },
                        101, (ks, m) -> { m.reply(101, "written".getBytes()); return 0; },
                        102, (ks, m) -> 17);
                /** A table that is wrong at load: a value that is not a handler. */
                public static final Map<Object, Object> bad_funcs = Map.of(1, "not a handler");
                /** An instance table: its handlers see this load's instance. */
                public final Map<Integer, ToIntBiFunction<KernServ, PortMessage>> own_funcs =
                        Map.of(1, (ks, m) -> { m.reply(1, ("instance " + (ks.instance() == this)).getBytes()); return 0; });
                public static int slot_init(KernServ ks, int arg) { mark("init " + arg); return 0; }
                public static int slot_signoff(KernServ ks, int arg) { mark("signoff " + arg); return 0; }
                /** HMAP's routine: ids the table lacks, with MIG_BAD_ID as the argument. */
                public static int slot_handler(KernServ ks, PortMessage m, int badId) { mark("unknown id " + m.id()); return badId; }
                public static int slot_msg(KernServ ks, PortMessage m, int arg) { m.reply(arg, ("slot " + m.port()).getBytes()); return 0; }
                /** Replies with the id of the server's own port named in the body. */
                public static int where(KernServ ks, PortMessage m, int arg) {
                    m.reply(0, ByteBuffer.allocate(8).putLong(ks.port(new String(m.bytes()))).array());
                    return 0;
                }
                static void mark(String what) {
                    System.setProperty("kextnet.test.slot", System.getProperty("kextnet.test.slot", "") + what + ";");
                }
            }
            """;

    @TempDir Path dir;
    KernLoader loader = new KernLoader(LoaderOptions.defaults().withTimeouts(2_000, 1_000));

    @BeforeEach void jar() throws Exception {
        System.clearProperty("kextnet.test.slot");
        TestJars.jar(dir, "slot.jar", "t.Slot", "3.3", null, Map.of("t.Slot", SLOT));
    }

    @AfterEach void close() {
        loader.close();
        System.clearProperty("kextnet.test.slot");
    }

    static String marks() { return System.getProperty("kextnet.test.slot", ""); }

    /** Appendix A's slot driver, laid out as the 3.x manual prints its load and unload scripts. */
    @Test void unloadScriptAfterTheLoadScriptRunsAtUnloadOnly() throws Exception {
        Path script = TestJars.script(dir, "slot.kern_server", """
                SERVER_NAME slot
                RELOC       slot.jar
                CALL        slot_init 0
                SMAP        slot0 slot_msg 0
                SMAP        slot2 slot_msg 1
                ADVERTISE   slot0
                WIRE
                START
                # unload script:
                CALL        slot_signoff 7
                """);
        loader.add(script); // START: loaded now
        assertThat(loader.info("slot").state()).isEqualTo(ServerState.LOADED);
        assertThat(marks()).as("only the load script ran").isEqualTo("init 0;");
        loader.unload("slot");
        assertThat(marks()).isEqualTo("init 0;signoff 7;");
    }

    /** The look-alike is refused whole: nothing is allocated, nothing runs. */
    @Test void unloadCallThatWouldRunAtLoadIsRefused() throws Exception {
        Path script = TestJars.script(dir, "slot.kern_server",
                "SERVER_NAME slot\nRELOC slot.jar\nCALL slot_init 0\nSTART\n# unload: sign off\nCALL slot_signoff 0\n");
        assertThatThrownBy(() -> loader.add(script)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(111);
            assertThat(e.getMessage()).startsWith(script + ":6: CALL slot_signoff would run at load time");
        });
        assertThat(loader.list()).isEmpty();
        assertThat(marks()).isEmpty();
    }

    @Test void hmapDispatchesByMessageIdThroughTheHandlerTable() throws Exception {
        loader.add(TestJars.script(dir, "slot.kern_server", """
                SERVER_NAME slot
                RELOC       slot.jar
                HMAP        slot0 slot_handler slot_funcs
                HMAP        own0 slot_handler own_funcs
                ADVERTISE   slot0
                ADVERTISE   own0
                """));
        Ports.Result r = Ports.send(loader, "slot0", 100, "x".getBytes()); // demand load, then the table's entry 100
        assertThat(r.status()).isZero();
        assertThat(r.id()).isEqualTo(100);
        assertThat(r.text()).isEqualTo("read x");
        assertThat(Ports.send(loader, "slot0", 101, new byte[0]).text()).isEqualTo("written");
        assertThat(Ports.send(loader, "slot0", 102, new byte[0]).code()).as("a handler's non-zero result").isEqualTo(17);
        Ports.Result unknown = Ports.send(loader, "slot0", 7, new byte[0]);
        assertThat(unknown.status()).isZero();
        assertThat(unknown.code()).as("MIG_BAD_ID from the HMAP routine").isEqualTo(-303);
        assertThat(marks()).isEqualTo("unknown id 7;");
        assertThat(Ports.send(loader, "own0", 1, new byte[0]).text()).isEqualTo("instance true");
        // The table is read at each load: after an unload the next message loads and dispatches again.
        loader.unload("slot");
        assertThat(Ports.send(loader, "slot0", 101, new byte[0]).text()).isEqualTo("written");
    }

    @Test void hmapTableThatIsNotAFieldDoesNotLink() throws Exception {
        Path script = TestJars.script(dir, "slot.kern_server", "SERVER_NAME slot\nRELOC slot.jar\nSTART\nHMAP p slot_handler no_such_funcs\n");
        assertThatThrownBy(() -> loader.add(script)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(LoaderError.SERVER_WONT_LINK.code());
            assertThat(e.getMessage()).startsWith(script + ":4: handler table no_such_funcs is not a public field");
        });
    }

    @Test void hmapTableWithABadEntryFailsTheLoad() throws Exception {
        Path script = TestJars.script(dir, "slot.kern_server", "SERVER_NAME slot\nRELOC slot.jar\nHMAP p slot_handler bad_funcs\nSTART\n");
        assertThatThrownBy(() -> loader.add(script)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(LoaderError.SERVER_WONT_LOAD.code());
            assertThat(e.getMessage()).contains(script + ":3: handler table bad_funcs maps id 1 to not a handler");
        });
        assertThat(loader.info("slot").state()).isEqualTo(ServerState.FAULTED);
    }

    /** A mapped port that is not advertised: not found by name, reached by the id its server hands out. */
    @Test void portThatIsNotAdvertisedIsReachedThroughItsServer() throws Exception {
        loader.add(TestJars.script(dir, "slot.kern_server", """
                SERVER_NAME slot
                RELOC       slot.jar
                ADVERTIZED_PORT slot0
                MAP         slot0 where 0
                SMAP        hidden slot_msg 5
                """));
        assertThat(loader.names().lookup("hidden")).as("not checked in with the name server").isNull();
        assertThat(loader.info("slot").ports()).containsExactly(new ServerInfo.PortInfo("slot0", true), new ServerInfo.PortInfo("hidden", false));
        long id = ByteBuffer.wrap(Ports.send(loader, "slot0", 0, "hidden".getBytes()).data()).getLong();
        assertThat(id).isNotZero();
        assertThat(ByteBuffer.wrap(Ports.send(loader, "slot0", 0, "nope".getBytes()).data()).getLong()).isZero();
        assertThat(sendById(id).text()).isEqualTo("slot hidden");
        // The id stays valid across an unload; the next message to it loads the server again.
        loader.unload("slot");
        Ports.Result again = sendById(id);
        assertThat(again.id()).isEqualTo(5);
        assertThat(again.text()).isEqualTo("slot hidden");
        assertThat(loader.info("slot").state()).isEqualTo(ServerState.LOADED);
    }

    private Ports.Result sendById(long id) throws Exception {
        Port p = loader.names().port(id);
        ReplyPort rp = loader.names().newReplyPort((i, d) -> {});
        try {
            CompletableFuture<Ports.Result> f = new CompletableFuture<>();
            p.send(new Message(p.name(), 1, new byte[0], rp.id(), (status, code, rid, d, detail) -> f.complete(new Ports.Result(status, code, rid, d, detail))));
            return f.get(30, TimeUnit.SECONDS);
        } finally {
            loader.names().destroy(rp);
        }
    }

    @Test void loadableIsWrittenAndShown() throws Exception {
        Files.createDirectories(dir.resolve("dbg"));
        loader.add(TestJars.script(dir, "slot.kern_server", "SERVER_NAME slot\nRELOC slot.jar\nLOADABLE dbg/slot.loadable\nSMAP p slot_msg 0\n"));
        Path loadable = dir.resolve("dbg/slot.loadable");
        ServerInfo i = loader.info("slot");
        assertThat(i.loadable()).isEqualTo(loadable.toString());
        assertThat(StatusFormat.detail(i)).contains("RELOCATABLE: " + dir.resolve("slot.jar") + "\nLOADABLE: " + loadable + "\nSTATUS: Allocated");
        try (JarFile j = new JarFile(loadable.toFile())) {
            assertThat(j.getManifest().getMainAttributes().getValue("Kext-Server-Class")).isEqualTo("t.Slot");
            assertThat(j.getEntry("t/Slot.class")).isNotNull();
        }
        // A server without LOADABLE has nothing to show.
        Path other = dir.resolve("o");
        Files.createDirectories(other);
        TestJars.jar(other, "slot.jar", "t.Slot", "3.3", null, Map.of("t.Slot", SLOT));
        loader.add(TestJars.script(other, "o.kern_server", "SERVER_NAME o\nRELOC slot.jar\nSMAP q slot_msg 0\n"));
        assertThat(loader.info("o").loadable()).isNull();
        assertThat(StatusFormat.detail(loader.info("o"))).doesNotContain("LOADABLE");
    }

    @Test void loadableThatCannotBeWrittenIsRefused() throws Exception {
        Path script = TestJars.script(dir, "slot.kern_server", "SERVER_NAME slot\nRELOC slot.jar\nLOADABLE no/such/dir/x\nSMAP p slot_msg 0\n");
        assertThatThrownBy(() -> loader.add(script)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(LoaderError.CANT_OPEN_SERVER.code());
            assertThat(e.getMessage()).startsWith(script + ": LOADABLE " + dir.resolve("no/such/dir/x") + ": cannot write it");
        });
        assertThat(loader.list()).isEmpty();
    }

    @Test void skippedLinesAreWarnedAbout() throws Exception {
        Path script = TestJars.script(dir, "slot.kern_server", "SERVER_NAME slot\nRELOC slot.jar\nSMAP p slot_msg 0\n  FREE slot_signoff 0\n");
        loader.add(script);
        assertThat(loader.log().recent()).extracting(LogHub.Line::text)
                .contains(script + ":4: skipped, not a command (a command starts with a capital letter A-Z): 'FREE slot_signoff 0'");
        loader.load("slot");
        loader.unload("slot");
        assertThat(marks()).as("the skipped FREE did not run").isEmpty();
    }
}
