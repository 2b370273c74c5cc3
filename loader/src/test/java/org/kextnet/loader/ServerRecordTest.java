package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.loader.script.ServerScript;

/**
 * The loader's state machine in one place: {@link ServerState#successors} is the table, {@link ServerRecord#moveTo}
 * the only write, and every request on a record in the wrong state is refused with its kern_loader code and leaves
 * the state as it was.
 */
class ServerRecordTest {
    final KernLoader loader = new KernLoader();

    @AfterEach void close() {
        loader.close();
    }

    ServerRecord record(boolean detach) {
        ServerScript s = new ServerScript(Path.of("/x/s.kern_server"), "s", Path.of("/x/s.jar"), List.of(), List.of(), List.of(), false, false, detach);
        return new ServerRecord(loader, 1, s);
    }

    /** Legal moves from Allocating to each state (Zombie is never entered). */
    static final Map<ServerState, List<ServerState>> PATHS = Map.of(
            ServerState.ALLOCATING, List.of(),
            ServerState.ALLOCATED, List.of(ServerState.ALLOCATED),
            ServerState.LOADING, List.of(ServerState.ALLOCATED, ServerState.LOADING),
            ServerState.LOADED, List.of(ServerState.ALLOCATED, ServerState.LOADING, ServerState.LOADED),
            ServerState.UNLOADING, List.of(ServerState.ALLOCATED, ServerState.LOADING, ServerState.LOADED, ServerState.UNLOADING),
            ServerState.FAULTED, List.of(ServerState.ALLOCATED, ServerState.LOADING, ServerState.FAULTED),
            ServerState.DEALLOCATED, List.of(ServerState.DEALLOCATED),
            ServerState.DETACHED, List.of(ServerState.ALLOCATED, ServerState.LOADING, ServerState.LOADED, ServerState.DETACHED));

    ServerRecord in(ServerState s, boolean detach) {
        ServerRecord r = record(detach);
        for (ServerState step : PATHS.get(s)) r.moveTo(step);
        assertThat(r.state()).isEqualTo(s);
        return r;
    }

    ServerRecord in(ServerState s) {
        return in(s, false);
    }

    @Test void theTableIsTheOriginalsLifecycle() {
        assertThat(ServerState.ALLOCATING.successors()).containsExactlyInAnyOrder(ServerState.ALLOCATED, ServerState.DEALLOCATED);
        assertThat(ServerState.ALLOCATED.successors()).containsExactlyInAnyOrder(ServerState.LOADING, ServerState.DEALLOCATED);
        assertThat(ServerState.LOADING.successors()).containsExactlyInAnyOrder(ServerState.LOADED, ServerState.FAULTED);
        assertThat(ServerState.LOADED.successors()).containsExactlyInAnyOrder(ServerState.UNLOADING, ServerState.DETACHED);
        assertThat(ServerState.UNLOADING.successors()).containsExactlyInAnyOrder(ServerState.ALLOCATED, ServerState.FAULTED);
        assertThat(ServerState.FAULTED.successors()).containsExactly(ServerState.DEALLOCATED);
        for (ServerState end : List.of(ServerState.ZOMBIE, ServerState.DEALLOCATED, ServerState.DETACHED))
            assertThat(end.successors()).as(end.word()).isEmpty();
        assertThatThrownBy(() -> ServerState.LOADED.successors().add(ServerState.ZOMBIE)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test void everyMoveOutsideTheTableIsRefusedAndChangesNothing() {
        int refused = 0, allowed = 0;
        for (ServerState from : PATHS.keySet()) {
            for (ServerState to : ServerState.values()) {
                ServerRecord r = in(from);
                if (from.canBecome(to)) {
                    r.moveTo(to);
                    assertThat(r.state()).isEqualTo(to);
                    allowed++;
                } else {
                    assertThatThrownBy(() -> r.moveTo(to)).as("%s -> %s", from, to)
                            .isInstanceOf(IllegalStateException.class).hasMessage("s: no transition " + from.word() + " -> " + to.word());
                    assertThat(r.state()).as("%s -> %s refused: unchanged", from, to).isEqualTo(from);
                    refused++;
                }
            }
        }
        assertThat(allowed).isEqualTo(11);
        assertThat(refused).isEqualTo(PATHS.size() * ServerState.values().length - 11);
    }

    static void refused(LoaderError code, ServerRecord r, org.assertj.core.api.ThrowableAssert.ThrowingCallable request) {
        ServerState before = r.state();
        assertThatThrownBy(request).isInstanceOfSatisfying(LoaderException.class, e -> assertThat(e.code()).as(e.toString()).isEqualTo(code.code()));
        assertThat(r.state()).as("refused: unchanged").isEqualTo(before);
    }

    @Test void requestsInTheWrongStateAreRefusedWithTheirCodes() throws Exception {
        ServerRecord allocated = in(ServerState.ALLOCATED);
        refused(LoaderError.SERVER_UNLOADED, allocated, allocated::beginUnload);

        ServerRecord faulted = in(ServerState.FAULTED);
        refused(LoaderError.SERVER_WONT_LOAD, faulted, faulted::beginLoad);
        refused(LoaderError.SERVER_UNLOADED, faulted, faulted::beginUnload);

        ServerRecord gone = in(ServerState.DEALLOCATED);
        refused(LoaderError.SERVER_DELETED, gone, gone::beginLoad);
        refused(LoaderError.SERVER_DELETED, gone, gone::beginUnload);
        refused(LoaderError.SERVER_DELETED, gone, gone::beginDelete);

        ServerRecord detached = in(ServerState.DETACHED, true);
        refused(LoaderError.DETACHED, detached, detached::beginUnload);
        refused(LoaderError.DETACHED, detached, detached::beginDelete);
        assertThat(detached.beginLoad()).as("loading a detached server is a no-op").isFalse();

        ServerRecord detach = in(ServerState.LOADED, true);
        refused(LoaderError.DETACHED, detach, detach::beginUnload);
        assertThat(detach.beginDelete()).isEqualTo(ServerRecord.DeleteStep.DETACHED);
        assertThat(detach.state()).isEqualTo(ServerState.DETACHED);

        ServerRecord loaded = in(ServerState.LOADED);
        assertThat(loaded.beginLoad()).as("loading a loaded server is a no-op").isFalse();
        assertThat(loaded.state()).isEqualTo(ServerState.LOADED);
        assertThatThrownBy(() -> loaded.deallocate()).isInstanceOfSatisfying(LoaderException.class, e -> assertThat(e.code()).isEqualTo(103));
        assertThat(loaded.state()).isEqualTo(ServerState.LOADED);
    }

    /** Steps that only a request in the right state takes are refused (a bug, not a client's error) and change nothing. */
    @Test void sequenceStepsOutOfTurnChangeNothing() {
        ServerRecord allocated = in(ServerState.ALLOCATED);
        assertThatThrownBy(() -> allocated.loaded(null)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(allocated::unloaded).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> allocated.faulted("x")).isInstanceOf(IllegalStateException.class);
        assertThat(allocated.state()).isEqualTo(ServerState.ALLOCATED);
        ServerRecord loaded = in(ServerState.LOADED);
        assertThatThrownBy(() -> loaded.relinked(null, null)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(loaded::allocationFailed).isInstanceOf(IllegalStateException.class);
        assertThat(loaded.state()).isEqualTo(ServerState.LOADED);
    }

    @Test void aServerOthersDependOnRefusesUnloadAndDeleteAndStaysLoadable() throws Exception {
        ServerRecord lib = in(ServerState.LOADED);
        lib.addDependent("user");
        refused(LoaderError.WONT_UNLOAD, lib, lib::beginUnload);
        refused(LoaderError.WONT_UNLOAD, lib, lib::beginDelete);
        lib.removeDependent("user");
        // The refused delete left no mark: after an unload the server loads again (a delete under way would say 113).
        assertThat(lib.beginUnload()).isNull();
        assertThat(lib.unloaded()).isNull();
        assertThat(lib.beginLoad()).isTrue();
        assertThat(lib.state()).isEqualTo(ServerState.LOADING);

        ServerRecord allocated = in(ServerState.ALLOCATED);
        refused(LoaderError.SERVER_WONT_LOAD, allocated, () -> allocated.addDependent("user"));
        assertThat(allocated.hasDependents()).isFalse();
    }

    @Test void aDeleteStopsLaterLoadsAndARefusedUnloadLiftsThat() throws Exception {
        ServerRecord r = in(ServerState.ALLOCATED);
        assertThat(r.beginDelete()).isEqualTo(ServerRecord.DeleteStep.DEALLOCATE);
        refused(LoaderError.SERVER_DELETED, r, r::beginLoad);
        r.deleteRefused();
        assertThat(r.beginLoad()).isTrue();
    }

    @Test void requestsWaitForATransientStateToEnd() throws Exception {
        ServerRecord r = in(ServerState.LOADING);
        CompletableFuture<LoadedServer> unload = CompletableFuture.supplyAsync(() -> {
            try {
                return r.beginUnload();
            } catch (LoaderException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(50);
        assertThat(unload).as("waits while Loading").isNotDone();
        assertThat(r.state()).isEqualTo(ServerState.LOADING);
        r.loaded(null);
        unload.get(10, TimeUnit.SECONDS);
        assertThat(r.state()).isEqualTo(ServerState.UNLOADING);
    }

    @Test void onlyTheFinalStatesHaveNoWayOut() {
        EnumSet<ServerState> finals = EnumSet.noneOf(ServerState.class);
        for (ServerState s : ServerState.values()) if (s.successors().isEmpty()) finals.add(s);
        assertThat(finals).containsExactlyInAnyOrder(ServerState.ZOMBIE, ServerState.DEALLOCATED, ServerState.DETACHED);
        for (ServerState s : ServerState.values()) if (s.transient_()) assertThat(s.successors()).as(s.word()).isNotEmpty();
    }
}
