package org.kextnet.loader.rpc;

import java.io.IOException;
import java.util.List;

import org.kextnet.loader.LoaderException;
import org.kextnet.loader.ServerInfo;

/**
 * A connection to kern_loader that makes requests: {@link KernLoaderClient} (concurrent, with events) and
 * {@link KernLoaderQuery} (synchronous, for {@code kl_util -s}) both decode every answer as a {@link Response}.
 */
public interface RpcClient extends AutoCloseable {
    /**
     * Sends {@code request} and waits for its response.
     * @return the operation's result
     * @throws LoaderException the daemon's refusal or failure, with its code and message
     * @throws IOException if kern_loader cannot be reached or the connection is lost
     */
    <R> R call(Request<R> request) throws IOException, LoaderException;

    /** Every server not deallocated, with its full info (LIST). */
    default List<ServerInfo> list() throws IOException, LoaderException {
        return call(new Request.ListServers());
    }

    /** One server's info (INFO); 102 if there is none of that name. */
    default ServerInfo info(String name) throws IOException, LoaderException {
        return call(new Request.Info(name));
    }

    @Override void close() throws IOException;
}
