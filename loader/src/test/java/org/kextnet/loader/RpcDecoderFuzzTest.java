package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.kextnet.loader.rpc.InfoCodec;
import org.kextnet.loader.rpc.RpcReader;
import org.kextnet.loader.rpc.Request;

/**
 * The daemon's request decoder and the client's server-info decoder on arbitrary bytes: a request either
 * decodes (and re-encodes to the same bytes) or fails with 121 or 122; nothing else escapes.
 */
class RpcDecoderFuzzTest {
    @FuzzTest(maxDuration = "30s")
    void decodeRequest(byte[] input) {
        try {
            Request.Call q = Request.decode(ByteBuffer.wrap(input));
            ByteBuffer again = q.frame();
            again.position(4);
            assertThat(again).isEqualTo(ByteBuffer.wrap(input));
        } catch (LoaderException e) {
            assertThat(e.code()).isIn(121, 122);
        }
    }

    @FuzzTest(maxDuration = "30s")
    void decodeInfo(byte[] input) {
        try {
            ServerInfo i = InfoCodec.read(new RpcReader(ByteBuffer.wrap(input)));
            assertThat(i.name()).isNotNull();
        } catch (LoaderException e) {
            assertThat(e.code()).isEqualTo(122);
        }
    }
}
