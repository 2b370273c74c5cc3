package org.kextnet.testkit.example;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.server.PortMessage;

/** The loadable server of docs/extensions.md, its routine called as kern_loader calls it for a message. */
class GreeterTest {
    /** A message to the port {@code greet}, keeping the reply it gets. */
    static final class Message implements PortMessage {
        final byte[] body;
        String reply;

        Message(String body) { this.body = body.getBytes(StandardCharsets.UTF_8); }

        @Override public String port() { return "greet"; }
        @Override public int id() { return 7; }
        @Override public ByteBuffer data() { return ByteBuffer.wrap(body).asReadOnlyBuffer(); }
        @Override public byte[] bytes() { return body.clone(); }
        @Override public long replyPort() { return 1; }
        @Override public boolean reply(int id, byte[] data) {
            assertThat(id).isEqualTo(7);
            reply = new String(data, StandardCharsets.UTF_8);
            return true;
        }
        @Override public boolean replyError(int code) { throw new AssertionError("the routine returns its code instead"); }
    }

    @Test void greetsByNameAndCounts() {
        Greeter g = new Greeter();
        Message first = new Message("ada\n"), second = new Message("bob");
        assertThat(g.greet(null, first, 0)).isZero();
        assertThat(g.greet(null, second, 0)).isZero();
        assertThat(first.reply).isEqualTo("hello, ada (1)");
        assertThat(second.reply).isEqualTo("hello, bob (2)");
        Message empty = new Message(" ");
        assertThat(g.greet(null, empty, 0)).isEqualTo(Errno.EINVAL);
        assertThat(empty.reply).isNull();
    }
}
