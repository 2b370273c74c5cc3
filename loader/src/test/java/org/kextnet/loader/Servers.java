package org.kextnet.loader;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Test servers: sources compiled into real jars by {@link TestJars}, and their scripts. */
final class Servers {
    private Servers() {}

    static final String ECHO_CLASS = "org.kextnet.examples.echo.EchoServer";

    /** The example echo server's jar and script (with PORT_DEATH) in {@code dir}. */
    static Path echo(Path dir, String name) throws IOException {
        TestJars.jar(dir, "echo-server.jar", ECHO_CLASS, "1.0", null, Map.of(ECHO_CLASS, TestJars.echoSource()));
        return TestJars.script(dir, name + ".kern_server", """
                SERVER_NAME     %s
                RELOC           echo-server.jar
                ADVERTIZED_PORT %s
                MAP             %s echo 0
                INIT            init 0
                PORT_DEATH      portDeath
                FREE            free 0
                """.formatted(name, name, name));
    }

    /**
     * "Ordered": INIT sleeps {@code arg} ms (a slow load); its MAP routine checks that each client's messages
     * (body: int client, int seq) arrive in sequence and replies with the body, or with error 99.
     */
    static final String ORDERED = """
            package t;
            import org.kextnet.kpi.server.*;
            import java.util.concurrent.ConcurrentHashMap;
            public final class Ordered {
                private final ConcurrentHashMap<Integer, Integer> last = new ConcurrentHashMap<>();
                public int init(KernServ ks, int sleep) throws Exception { Thread.sleep(sleep); return 0; }
                public int serve(KernServ ks, PortMessage m, int arg) {
                    java.nio.ByteBuffer b = m.data();
                    int client = b.getInt(), seq = b.getInt();
                    Integer prev = last.put(client, seq);
                    if ((prev == null ? -1 : prev) != seq - 1) return 99;
                    m.reply(m.id(), m.bytes());
                    return 0;
                }
            }
            """;

    /** "Faulty": INIT or FREE fail as the argument says (1 throw, 2 return 5, 3 leave a timeout pending, 4 hang). */
    static final String FAULTY = """
            package t;
            import org.kextnet.kpi.server.*;
            import java.util.concurrent.TimeUnit;
            public final class Faulty {
                public int init(KernServ ks, int how) { return act(ks, how); }
                public int free(KernServ ks, int how) { return act(ks, how); }
                public int serve(KernServ ks, PortMessage m, int arg) { m.reply(0, new byte[0]); return 0; }
                private int act(KernServ ks, int how) {
                    switch (how) {
                        case 1 -> throw new IllegalStateException("boom");
                        case 2 -> { return 5; }
                        case 3 -> ks.timeout(() -> {}, 1, TimeUnit.HOURS);
                        case 4 -> { try { Thread.sleep(60_000); } catch (InterruptedException e) { } }
                        default -> { }
                    }
                    return 0;
                }
            }
            """;

    /** "Wired": a server and a helper class whose static initialiser leaves a mark in a system property. */
    static final Map<String, String> WIRED = Map.of(
            "t.Wired", """
                    package t;
                    import org.kextnet.kpi.server.*;
                    public final class Wired {
                        public int serve(KernServ ks, PortMessage m, int arg) {
                            m.reply(0, Helper.NAME.getBytes()); return 0;
                        }
                    }
                    """,
            "t.Helper", """
                    package t;
                    final class Helper {
                        static final String NAME;
                        static {
                            NAME = "helper";
                            String k = "kextnet.test.helper." + Helper.class.getClassLoader().getName();
                            System.setProperty(k, Integer.toString(Integer.getInteger(k, 0) + 1));
                        }
                    }
                    """);

    /** "Lib" (a library server) and "User", which depends on it and calls its class. */
    static final Map<String, String> LIB = Map.of("lib.Lib", """
            package lib;
            import org.kextnet.kpi.server.*;
            public final class Lib {
                public static String greet(String who) { return "hello " + who; }
                public static int init(KernServ ks, int arg) { return 0; }
            }
            """);
    static final Map<String, String> USER = Map.of("usr.User", """
            package usr;
            import org.kextnet.kpi.server.*;
            public final class User {
                public int serve(KernServ ks, PortMessage m, int arg) {
                    m.reply(0, lib.Lib.greet(new String(m.bytes())).getBytes()); return 0;
                }
            }
            """);

    /** "Versioned": replies with its VERSION constant, so a rebuilt jar is visible. */
    static Map<String, String> versioned(String v) {
        return Map.of("t.Versioned", """
                package t;
                import org.kextnet.kpi.server.*;
                public final class Versioned {
                    public static int serve(KernServ ks, PortMessage m, int arg) { m.reply(0, "%s".getBytes()); return 0; }
                }
                """.formatted(v));
    }

    /** Link-time trouble: a wrong signature, a symbol, a method that names a loader-internal type. */
    static final String LINKY = """
            package t;
            import org.kextnet.kpi.server.*;
            public final class Linky {
                public static final int ARG = 7;
                public static int notInt = 0;
                public int good(KernServ ks, PortMessage m, int arg) { m.reply(arg, new byte[0]); return 0; }
                public void wrong(KernServ ks, PortMessage m, int arg) { }
                public int init(KernServ ks, int arg) { return 0; }
            }
            """;
    static final String LEAKY_SIGNATURE = """
            package t;
            import org.kextnet.kpi.server.*;
            public final class Leaky {
                public int good(KernServ ks, PortMessage m, int arg) { return 0; }
                public void internal(org.kextnet.loader.KernLoader k) { }
            }
            """;

    /** A script text: name, jar, one advertised port mapped to {@code routine}, plus extra lines. */
    static String script(String name, String jar, String routine, String extra) {
        return "SERVER_NAME " + name + "\nRELOC " + jar + "\nADVERTIZED_PORT " + name + "\nMAP " + name + " " + routine + " 0\n" + extra;
    }
}
