package org.kextnet.loader.rpc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Who is a member of a group, as the system's group database says ({@code /etc/group}, or whatever NSS serves): the
 * users listed in the group's entry, that is, those for whom it is a supplementary group. A user whose primary group
 * it is may not be listed; the peer's credentials say that ({@link PeerPolicy}).
 */
@FunctionalInterface
public interface GroupDatabase {
    /**
     * The users listed as members of {@code group}.
     * @return null if there is no such group
     * @throws IOException if the database cannot be read
     */
    Set<String> members(String group) throws IOException;

    /** The system's, through {@code getgrnam_r(3)} (so NSS sources count as {@code getent group} shows them). */
    GroupDatabase SYSTEM = Nss::members;

    /** {@code getgrnam_r} through the FFM API. */
    final class Nss {
        private Nss() {}

        private static final int ERANGE = 34;
        /** {@code struct group} on LP64 Linux: {@code char *gr_name, *gr_passwd; gid_t gr_gid; char **gr_mem}. */
        private static final long GROUP_SIZE = 32, GR_MEM = 24;
        private static final MethodHandle GETGRNAM_R;

        static {
            Linker linker = Linker.nativeLinker();
            GETGRNAM_R = linker.downcallHandle(linker.defaultLookup().find("getgrnam_r").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        }

        static Set<String> members(String group) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment name = arena.allocateFrom(group);
                MemorySegment grp = arena.allocate(GROUP_SIZE, 8);
                MemorySegment result = arena.allocate(ADDRESS);
                for (long size = 4096; size <= 1 << 22; size *= 4) { // a large group may need a larger buffer (ERANGE)
                    MemorySegment buf = arena.allocate(size);
                    int rc = (int) GETGRNAM_R.invokeExact(name, grp, buf, size, result);
                    if (rc == ERANGE) continue;
                    if (rc != 0) throw new IOException("getgrnam_r(" + group + "): errno " + rc);
                    if (result.get(ADDRESS, 0).equals(MemorySegment.NULL)) return null;
                    MemorySegment mem = grp.get(ADDRESS, GR_MEM).reinterpret(Long.MAX_VALUE);
                    Set<String> out = new LinkedHashSet<>();
                    for (long i = 0; ; i++) {
                        MemorySegment user = mem.getAtIndex(ADDRESS, i);
                        if (user.equals(MemorySegment.NULL)) return out;
                        out.add(user.reinterpret(Long.MAX_VALUE).getString(0));
                    }
                }
                throw new IOException("getgrnam_r(" + group + "): the entry is larger than 4 MiB");
            } catch (IOException e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException("getgrnam_r(" + group + "): " + t, t);
            }
        }
    }
}
