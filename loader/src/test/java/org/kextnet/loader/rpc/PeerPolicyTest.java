package org.kextnet.loader.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import jdk.net.UnixDomainPrincipal;

import org.junit.jupiter.api.Test;

/** Who is privileged: root; a member of --group, by primary group (the credentials) or supplementary (the group database). */
class PeerPolicyTest {
    static final UserPrincipalLookupService USERS = FileSystems.getDefault().getUserPrincipalLookupService();

    static UnixDomainPrincipal peer(String user, String group) throws IOException {
        return new UnixDomainPrincipal(USERS.lookupPrincipalByName(user), USERS.lookupPrincipalByGroupName(group));
    }

    @Test void rootAlwaysOthersOnlyThroughTheGroup() throws Exception {
        AtomicInteger lookups = new AtomicInteger();
        GroupDatabase db = group -> {
            lookups.incrementAndGet();
            return group.equals("daemon") ? Set.of("nobody") : Set.of();
        };
        PeerPolicy none = new PeerPolicy(null, db);
        assertThat(none.privileged(peer("root", "root"))).isTrue();
        assertThat(none.privileged(peer("nobody", "daemon"))).as("no --group: root only").isFalse();
        assertThat(none.privileged(null)).isFalse();

        PeerPolicy admins = new PeerPolicy("daemon", db);
        assertThat(admins.group().getName()).isEqualTo("daemon");
        assertThat(admins.privileged(peer("nobody", "nogroup"))).as("a supplementary member").isTrue();
        assertThat(admins.privileged(peer("daemon", "daemon"))).as("by primary group").isTrue();
        assertThat(new PeerPolicy("adm", db).privileged(peer("nobody", "nogroup"))).as("not a member").isFalse();
        assertThat(lookups.get()).as("the database read once per group and 5 s").isEqualTo(2);
    }

    @Test void anUnreadableDatabaseLeavesThePrimaryGroup() throws Exception {
        PeerPolicy p = new PeerPolicy("daemon", group -> { throw new IOException("NSS down"); });
        assertThat(p.privileged(peer("nobody", "nogroup"))).isFalse();
        assertThat(p.privileged(peer("daemon", "daemon"))).isTrue();
    }

    @Test void theSystemDatabase() throws Exception {
        assertThat(GroupDatabase.SYSTEM.members("no-such-group-ldr")).isNull();
        assertThat(GroupDatabase.SYSTEM.members("root")).isNotNull(); // members listed or not, the group exists
    }
}
