package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.ref.WeakReference;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.hook.FilterEntry;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kpi.Registration;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.server.NkeBridge;

/**
 * For the samples' integration tests: the daemon of {@link InJvmDaemon} with its loader joined to its kernel (as
 * kern_loader's is), that kernel at 10.99.0.1 on {@code wire0}, a memory wire to a peer kernel at 10.99.0.2, and
 * the sample jars and scripts as the build made them (examples/NAME/target, which the distribution copies).
 */
abstract class SampleDaemon extends InJvmDaemon {
    static final String KERNEL_IP = "10.99.0.1", PEER_IP = "10.99.0.2";
    Kernel peer;
    KernelCommands admin;

    @Override KernLoader newLoader() {
        NkeBridge bridge = new NkeBridge(kernel);
        return new KernLoader(LoaderOptions.defaults().withTimeouts(5_000, 1_000).withKernel(bridge, bridge));
    }

    @Override KernelControls controls() { return KernelControls.of(kernel); }

    @BeforeEach void wire() {
        peer = new Kernel("peer", new Buffers(2048, 32));
        MemoryWire wire = new MemoryWire("wire");
        kernel.createInterface("wire0", IfFamily.ETHERNET, wire.a(), KernelCommands.macFor(kernel, "wire0"), 1500);
        peer.createInterface("wire0", IfFamily.ETHERNET, wire.b(), KernelCommands.macFor(peer, "wire0"), 1500);
        admin = new KernelCommands(kernel);
        admin.execute("ifconfig wire0 inet " + KERNEL_IP + "/24 up");
        new KernelCommands(peer).execute("ifconfig wire0 inet " + PEER_IP + "/24 up");
    }

    @AfterEach void closePeer() {
        admin.closeServices();
        peer.close();
    }

    /** A sample's server script beside its jar, as the build made them; fails if the sample is not built. */
    static Path sample(String module, String script) {
        Path p = Path.of("..", "examples", module, "target", script).toAbsolutePath().normalize();
        assertThat(p).as("examples/%s is built before cli", module).isRegularFile();
        assertThat(p.resolveSibling(module + ".jar")).isRegularFile();
        return p;
    }

    /** The class loader of the loaded server {@code name}, found through one of its filters in the kernel's records. */
    WeakReference<ClassLoader> classLoaderOf(String name) {
        ExtensionHandle h = kernel.nke().find(name);
        assertThat(h).as("%s is loaded", name).isNotNull();
        for (Registration r : h.registrations()) {
            if (r instanceof FilterEntry<?> f) return new WeakReference<>(f.filter.getClass().getClassLoader());
        }
        throw new AssertionError(name + " has no filter registered: " + h.registrations());
    }

    /** Asserts that nothing in the kernel holds the unloaded server's classes any more: its class loader is collected. */
    static void assertCollected(WeakReference<ClassLoader> loader) throws InterruptedException {
        for (int i = 0; i < 100 && loader.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(loader.get()).as("the unloaded server's class loader is collected").isNull();
    }

    /** Nothing of extension {@code name} left in the kernel: no handle, no control, no filter anywhere. */
    void nothingLeft(String name) {
        assertThat(kernel.nke().find(name)).as("extension handle released").isNull();
        assertThat(kernel.controls().list()).extracting(c -> c.owner()).doesNotContain(name);
        assertThat(kernel.nke().describe()).as("the kernel's extension status").doesNotContain(name);
    }

}
