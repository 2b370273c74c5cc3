package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;

import jdk.net.UnixDomainPrincipal;

/**
 * Decides from a client's peer credentials (SO_PEERCRED) whether it is privileged: uid 0, or the configured
 * group as its primary group (SO_PEERCRED carries only the primary gid). Privileged clients may add, delete,
 * load, unload, abort, restart and run mutating admin commands; everyone who can open the socket may ask
 * status, look up ports and send messages.
 */
public final class PeerPolicy {
    private final UserPrincipal root;
    private final GroupPrincipal group;

    /** @param groupName the admin group, or null for root only */
    public PeerPolicy(String groupName) throws IOException {
        UserPrincipalLookupService l = FileSystems.getDefault().getUserPrincipalLookupService();
        this.root = l.lookupPrincipalByName("root");
        this.group = groupName == null ? null : l.lookupPrincipalByGroupName(groupName);
    }

    public boolean privileged(UnixDomainPrincipal peer) {
        if (peer == null) return false;
        return peer.user().equals(root) || group != null && peer.group().equals(group);
    }
}
