package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import jdk.net.UnixDomainPrincipal;

/**
 * Decides from a client's peer credentials (SO_PEERCRED) whether it is privileged: uid 0, or a member of the
 * configured group, whether as its primary group (the credentials say so) or as a supplementary one (the group
 * database lists the user: {@link GroupDatabase}, read at most every {@value #CACHE_SECONDS} s, so that a flood of
 * connections does not become a flood of lookups and a change of membership counts soon). Privileged clients may add,
 * delete, load, unload, abort, restart and run mutating admin commands; everyone who can open the socket may ask
 * status, look up ports and send messages (docs/rpc.md, "Privilege").
 */
public final class PeerPolicy {
    static final long CACHE_SECONDS = 5;

    private final UserPrincipal root;
    private final String groupName;
    private final GroupPrincipal group;
    private final GroupDatabase database;
    private volatile Members members;

    private record Members(Set<String> users, long until) {}

    /** @param groupName the admin group, or null for root only */
    public PeerPolicy(String groupName) throws IOException {
        this(groupName, GroupDatabase.SYSTEM);
    }

    /**
     * @throws IOException if {@code groupName} names no group
     */
    public PeerPolicy(String groupName, GroupDatabase database) throws IOException {
        UserPrincipalLookupService l = FileSystems.getDefault().getUserPrincipalLookupService();
        this.root = l.lookupPrincipalByName("root");
        this.groupName = groupName;
        this.group = groupName == null ? null : l.lookupPrincipalByGroupName(groupName);
        this.database = database;
    }

    /** The admin group, or null: the daemon makes its socket owned by it (mode 0660 by default). */
    public GroupPrincipal group() { return group; }

    public boolean privileged(UnixDomainPrincipal peer) {
        if (peer == null) return false;
        if (peer.user().equals(root)) return true;
        if (group == null) return false;
        return peer.group().equals(group) || members().contains(peer.user().getName());
    }

    private Set<String> members() {
        Members m = members;
        long now = System.nanoTime();
        if (m == null || now - m.until() > 0) {
            Set<String> users;
            try {
                users = database.members(groupName);
            } catch (IOException e) {
                users = null; // unreadable: only the primary group counts until it can be read
            }
            m = new Members(users == null ? Set.of() : Set.copyOf(users), now + TimeUnit.SECONDS.toNanos(CACHE_SECONDS));
            members = m;
        }
        return m.users();
    }
}
