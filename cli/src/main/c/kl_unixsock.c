/*
 * libkextnet-kl.so: the Unix-domain stream socket client that `kextnet kl_util` uses to reach kern_loader
 * (org.kextnet.cli.UnixSocketShim): socket + connect, read, write, close, and nothing else.
 *
 * Why it exists: in a fresh JVM the JDK's own client, SocketChannel.open(StandardProtocolFamily.UNIX), costs
 * about 50 ms before the first byte, because sun.nio.ch.UnixDomainSockets's static initialiser creates a
 * SecureRandom and with it the whole JCA provider framework; `kl_util -s` has a budget of 10 ms for all of its
 * own work. The FFM API costs more still to set up (its downcall handles). This library is optional: without
 * it (no C compiler when the project was built) kl_util uses SocketChannel and is ~50 ms slower.
 *
 * Errors are thrown as java.io.IOException with strerror's text, as the JDK's channels word them.
 * Build: gcc -O2 -shared -fPIC -I$JAVA_HOME/include -I$JAVA_HOME/include/linux (cli/src/main/c/build.sh).
 */
#include <jni.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Largest chunk copied per call: the JVM's heap array is never pinned while a call blocks. */
#define CHUNK 65536

static void throw_io(JNIEnv *env, int err, const char *what) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s%s", what, strerror(err));
    jclass c = (*env)->FindClass(env, "java/io/IOException");
    if (c != NULL) (*env)->ThrowNew(env, c, msg);
}

/* int connect0(byte[] path): a connected AF_UNIX stream socket's descriptor (close-on-exec). */
JNIEXPORT jint JNICALL Java_org_kextnet_cli_UnixSocketShim_connect0(JNIEnv *env, jclass cls, jbyteArray path) {
    (void) cls;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    jsize n = (*env)->GetArrayLength(env, path);
    if (n <= 0 || (size_t) n >= sizeof sa.sun_path) {
        throw_io(env, ENAMETOOLONG, "Unix domain path: ");
        return -1;
    }
    (*env)->GetByteArrayRegion(env, path, 0, n, (jbyte *) sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw_io(env, errno, "");
        return -1;
    }
    socklen_t len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + (size_t) n + 1);
    int r;
    do r = connect(fd, (struct sockaddr *) &sa, len); while (r < 0 && errno == EINTR);
    if (r < 0) {
        int err = errno;
        close(fd);
        throw_io(env, err, "");
        return -1;
    }
    return fd;
}

/* int read0(int fd, byte[] b, int off, int len): bytes read (at most CHUNK), -1 at end of stream. */
JNIEXPORT jint JNICALL Java_org_kextnet_cli_UnixSocketShim_read0(JNIEnv *env, jclass cls, jint fd, jbyteArray b, jint off, jint len) {
    (void) cls;
    char buf[CHUNK];
    if (len > CHUNK) len = CHUNK;
    if (len <= 0) return 0;
    ssize_t n;
    do n = read(fd, buf, (size_t) len); while (n < 0 && errno == EINTR);
    if (n < 0) {
        throw_io(env, errno, "");
        return -1;
    }
    if (n == 0) return -1;
    (*env)->SetByteArrayRegion(env, b, off, (jsize) n, (jbyte *) buf);
    return (jint) n;
}

/* int write0(int fd, byte[] b, int off, int len): bytes written (at most CHUNK). */
JNIEXPORT jint JNICALL Java_org_kextnet_cli_UnixSocketShim_write0(JNIEnv *env, jclass cls, jint fd, jbyteArray b, jint off, jint len) {
    (void) cls;
    char buf[CHUNK];
    if (len > CHUNK) len = CHUNK;
    if (len <= 0) return 0;
    (*env)->GetByteArrayRegion(env, b, off, len, (jbyte *) buf);
    ssize_t n;
    do n = send(fd, buf, (size_t) len, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
    if (n < 0) {
        throw_io(env, errno, "");
        return -1;
    }
    return (jint) n;
}

/* void close0(int fd) */
JNIEXPORT void JNICALL Java_org_kextnet_cli_UnixSocketShim_close0(JNIEnv *env, jclass cls, jint fd) {
    (void) env;
    (void) cls;
    close(fd);
}
