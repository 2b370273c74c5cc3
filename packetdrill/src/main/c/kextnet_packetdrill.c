/*
 * kextnet's shim for packetdrill: the shared object packetdrill loads with --so_filename.
 *
 * It starts a JVM inside packetdrill's process (the JNI invocation API), runs a kextnet kernel there on a
 * virtual clock, and fills in packetdrill's struct packetdrill_interface (packetdrill.h, included from
 * packetdrill's source at build time) with functions that forward each call to the Java side,
 * org.kextnet.packetdrill.NativeEntry. This file only translates: C structures to primitives and direct
 * buffers, Java's "count or negative errno" back to "-1 and errno". Virtual time, blocking and the sockets
 * are Java's (docs/packetdrill.md).
 *
 * Configuration: kextnet-packetdrill.conf beside this library (or $KEXTNET_PACKETDRILL_CONF), lines
 * "jvm=PATH/libjvm.so", "classpath=...", "option=-X..." (one JVM option each); build.sh writes it.
 * packetdrill's --so_flags go to the Java side (ShimConfig).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jni.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "packetdrill.h"

#define ENTRY_CLASS "org/kextnet/packetdrill/NativeEntry"
#define MAX_OPTIONS 32
#define LINE_MAX_LEN 65536

static JavaVM *vm;
static jclass entry;
static __thread JNIEnv *thread_env;

static struct {
	jmethodID init, free, gettimeofday, usleep, netdev_send, netdev_receive;
	jmethodID socket, bind, listen, accept, connect, recv, send, fcntl, ioctl, close, shutdown;
	jmethodID getsockopt, setsockopt, poll, epoll_create, epoll_ctl, epoll_wait;
} m;

static void fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("kextnet-packetdrill: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAILURE);
}

/*
 * packetdrill runs its threads at a real-time priority (SCHED_RR) so that real time is kept to the
 * microsecond. On virtual time that buys nothing, and the JVM's own threads would inherit it from the
 * thread that creates them and could starve the machine's other work: every thread that enters the shim
 * goes back to the normal policy.
 */
static void drop_realtime_policy(void)
{
	struct sched_param p = { .sched_priority = 0 };

	if (sched_getscheduler(0) != SCHED_OTHER)
		sched_setscheduler(0, SCHED_OTHER, &p);
}

/* The JNIEnv of the calling thread, attaching it (as a daemon) on its first call. */
static JNIEnv *env(void)
{
	JNIEnv *e;
	JavaVMAttachArgs args = { JNI_VERSION_21, "packetdrill-syscall", NULL };

	if (thread_env)
		return thread_env;
	if ((*vm)->GetEnv(vm, (void **)&e, JNI_VERSION_21) != JNI_OK) {
		drop_realtime_policy();
		if ((*vm)->AttachCurrentThreadAsDaemon(vm, (void **)&e, &args) != JNI_OK)
			fatal("cannot attach a thread to the JVM");
	}
	thread_env = e;
	return e;
}

/*
 * Every call runs in a local frame of its own: packetdrill's threads never return to Java, so local
 * references made here would otherwise pile up for the whole run.
 */
static JNIEnv *enter(void)
{
	JNIEnv *e = env();

	if ((*e)->PushLocalFrame(e, 16) != 0)
		fatal("out of memory for JNI local references");
	return e;
}

/* Leaves the call's frame; a Java exception (a bug: NativeEntry catches its own) becomes EIO. */
static int leave(JNIEnv *e, jint r)
{
	if ((*e)->ExceptionCheck(e)) {
		(*e)->ExceptionDescribe(e);
		(*e)->ExceptionClear(e);
		r = -EIO;
	}
	(*e)->PopLocalFrame(e, NULL);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/* A direct buffer over packetdrill's memory (never NULL, even for zero bytes). */
static jobject buffer(JNIEnv *e, void *p, size_t n)
{
	static char none;

	if (n > INT_MAX)
		n = INT_MAX;
	return (*e)->NewDirectByteBuffer(e, p ? p : &none, p ? (jlong)n : 0);
}

/*
 * A real descriptor to stand for a socket: packetdrill closes its sockets' descriptors with the real
 * close(2) at the end of a script, so the number must be one this process may close.
 */
static int reserve_fd(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* A reserved descriptor after the Java side's answer r: packetdrill's if it was taken, else closed (errno kept). */
static int keep_fd_if_taken(int r, int fd)
{
	int saved = errno;

	if (r >= 0)
		return fd;
	close(fd);
	errno = saved;
	return -1;
}

/* A sockaddr from packetdrill: family, IPv4 address and port in host order. Returns 0 or an errno. */
static int sockaddr_in_args(const struct sockaddr *a, socklen_t len, jint *family, jint *ip, jint *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)a;

	*family = *ip = *port = 0;
	if (!a)
		return EFAULT;
	if (len < sizeof(sa_family_t))
		return EINVAL;
	*family = a->sa_family;
	if (a->sa_family == AF_INET) {
		if (len < sizeof(struct sockaddr_in))
			return EINVAL;
		*ip = (jint)ntohl(sin->sin_addr.s_addr);
		*port = ntohs(sin->sin_port);
	}
	return 0;
}

/* Writes an IPv4 source or peer address where packetdrill asked for one, as Linux does (truncated to *len). */
static void sockaddr_in_out(struct sockaddr *a, socklen_t *len, jint ip, jint port)
{
	struct sockaddr_in sin;

	if (!a || !len)
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl((uint32_t)ip);
	memcpy(a, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
	*len = sizeof(sin);
}

/* ---- packets and time ---- */

static int shim_gettimeofday(void *ud, struct timeval *tv, struct timezone *tz)
{
	JNIEnv *e = enter();
	jlong us = (*e)->CallStaticLongMethod(e, entry, m.gettimeofday);

	(void)ud;
	if (leave(e, 0) < 0)
		return -1;
	tv->tv_sec = us / 1000000;
	tv->tv_usec = us % 1000000;
	if (tz)
		memset(tz, 0, sizeof(*tz));
	return 0;
}

static int shim_usleep(void *ud, useconds_t usec)
{
	JNIEnv *e = enter();

	(void)ud;
	return leave(e, (*e)->CallStaticIntMethod(e, entry, m.usleep, (jlong)usec));
}

static int shim_netdev_send(void *ud, const void *buf, size_t count)
{
	JNIEnv *e = enter();

	(void)ud;
	return leave(e, (*e)->CallStaticIntMethod(e, entry, m.netdev_send, buffer(e, (void *)buf, count))) < 0 ? -1 : 0;
}

static int shim_netdev_receive(void *ud, void *buf, size_t *count, long long *time_usecs)
{
	JNIEnv *e = enter();
	jlongArray t = (*e)->NewLongArray(e, 1);
	jlong when = 0;
	jint n;

	(void)ud;
	n = (*e)->CallStaticIntMethod(e, entry, m.netdev_receive, buffer(e, buf, *count), t);
	if (!(*e)->ExceptionCheck(e))
		(*e)->GetLongArrayRegion(e, t, 0, 1, &when);
	/* On an error report an empty packet: a -1 would make packetdrill call again, forever. */
	*count = leave(e, n) < 0 ? 0 : (size_t)n;
	*time_usecs = when;
	return 0;
}

/* ---- descriptors ---- */

static int shim_socket(void *ud, int domain, int type, int protocol)
{
	JNIEnv *e;
	int fd = reserve_fd();

	(void)ud;
	if (fd < 0)
		return -1;
	e = enter();
	return keep_fd_if_taken(leave(e, (*e)->CallStaticIntMethod(e, entry, m.socket, fd, domain, type, protocol)), fd);
}

static int shim_close(void *ud, int fd)
{
	JNIEnv *e = enter();

	(void)ud;
	if (leave(e, (*e)->CallStaticIntMethod(e, entry, m.close, fd)) < 0)
		return -1; /* not the shim's: its real descriptor is left alone */
	close(fd);
	return 0;
}

static int shim_fcntl(void *ud, int fd, int cmd, ...)
{
	JNIEnv *e;
	int arg = 0;
	va_list ap;

	(void)ud;
	if (cmd == F_SETFL || cmd == F_SETFD) {
		va_start(ap, cmd);
		arg = va_arg(ap, int);
		va_end(ap);
	}
	e = enter();
	return leave(e, (*e)->CallStaticIntMethod(e, entry, m.fcntl, fd, cmd, arg));
}

/*
 * Whether an ioctl takes an int pointer: packetdrill passes a third argument only when the script has one,
 * so it is read only for the socket requests known to take it.
 */
static int ioctl_takes_int_pointer(unsigned long request)
{
	switch (request) {
	case 0x541b: /* FIONREAD, SIOCINQ */
	case 0x5421: /* FIONBIO */
	case 0x5411: /* TIOCOUTQ, SIOCOUTQ */
	case 0x8905: /* SIOCATMARK */
	case 0x894b: /* SIOCOUTQNSD */
		return 1;
	default:
		return 0;
	}
}

static int shim_ioctl(void *ud, int fd, unsigned long request, ...)
{
	JNIEnv *e;
	int *argp = NULL;
	jintArray a;
	jint v = 0;
	int r;
	va_list ap;

	(void)ud;
	if (ioctl_takes_int_pointer(request)) {
		va_start(ap, request);
		argp = va_arg(ap, int *);
		va_end(ap);
		if (!argp) {
			errno = EFAULT;
			return -1;
		}
		v = *argp;
	}
	e = enter();
	a = (*e)->NewIntArray(e, 1);
	(*e)->SetIntArrayRegion(e, a, 0, 1, &v);
	r = (*e)->CallStaticIntMethod(e, entry, m.ioctl, fd, (jlong)request, a);
	if (!(*e)->ExceptionCheck(e) && r >= 0 && argp) {
		(*e)->GetIntArrayRegion(e, a, 0, 1, &v);
		*argp = v;
	}
	return leave(e, r);
}

/* ---- socket calls ---- */

/* bind and connect: the address checked and taken apart here, the call made there. */
static int address_call(jmethodID method, int fd, const struct sockaddr *addr, socklen_t len)
{
	JNIEnv *e;
	jint family, ip, port;
	int err = sockaddr_in_args(addr, len, &family, &ip, &port);

	if (err) {
		errno = err;
		return -1;
	}
	e = enter();
	return leave(e, (*e)->CallStaticIntMethod(e, entry, method, fd, family, ip, port));
}

static int shim_bind(void *ud, int fd, const struct sockaddr *addr, socklen_t len)
{
	(void)ud;
	return address_call(m.bind, fd, addr, len);
}

static int shim_connect(void *ud, int fd, const struct sockaddr *addr, socklen_t len)
{
	(void)ud;
	return address_call(m.connect, fd, addr, len);
}

static int shim_listen(void *ud, int fd, int backlog)
{
	JNIEnv *e = enter();

	(void)ud;
	return leave(e, (*e)->CallStaticIntMethod(e, entry, m.listen, fd, backlog));
}

static int shim_accept(void *ud, int fd, struct sockaddr *addr, socklen_t *len)
{
	JNIEnv *e;
	jintArray peer;
	jint p[3] = { 0, 0, 0 };
	int nfd = reserve_fd(), r;

	(void)ud;
	if (nfd < 0)
		return -1;
	e = enter();
	peer = (*e)->NewIntArray(e, 3);
	r = (*e)->CallStaticIntMethod(e, entry, m.accept, nfd, fd, peer);
	if (!(*e)->ExceptionCheck(e))
		(*e)->GetIntArrayRegion(e, peer, 0, 3, p);
	if (keep_fd_if_taken(leave(e, r), nfd) < 0)
		return -1;
	sockaddr_in_out(addr, len, p[1], p[2]);
	return nfd;
}

/*
 * Total bytes of an iovec array, or -1 with errno: EINVAL if it does not fit a ssize_t, EFAULT for a buffer
 * that is NULL but not empty (as the kernel finds when it copies).
 */
static ssize_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	if (n < 0 || (n > 0 && !iov)) {
		errno = n < 0 ? EINVAL : EFAULT;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > (size_t)INT_MAX - t) {
			errno = EINVAL;
			return -1;
		}
		if (!iov[i].iov_base && iov[i].iov_len > 0) {
			errno = EFAULT;
			return -1;
		}
		t += iov[i].iov_len;
	}
	return (ssize_t)t;
}

/*
 * Every receive call: into one contiguous area (the caller's buffer, or a bounce buffer scattered into
 * the iovecs afterwards), with the source address and MSG_TRUNC reported where asked.
 */
static ssize_t do_recv(int fd, const struct iovec *iov, int iovcnt, int flags,
		       struct sockaddr *from, socklen_t *fromlen, int *msg_flags)
{
	JNIEnv *e;
	jintArray meta;
	jint mt[5] = { 0, 0, 0, 0, 0 };
	ssize_t total = iov_total(iov, iovcnt);
	char *area;
	int r;

	if (total < 0)
		return -1;
	area = iovcnt == 1 ? iov[0].iov_base : malloc(total ? (size_t)total : 1);
	if (!area && total) {
		errno = ENOMEM;
		return -1;
	}
	e = enter();
	meta = (*e)->NewIntArray(e, 5);
	r = (*e)->CallStaticIntMethod(e, entry, m.recv, fd, buffer(e, area, (size_t)total), flags, meta);
	if (!(*e)->ExceptionCheck(e))
		(*e)->GetIntArrayRegion(e, meta, 0, 5, mt);
	r = leave(e, r);
	if (r >= 0 && iovcnt != 1) {
		size_t left = (size_t)r < (size_t)total ? (size_t)r : (size_t)total, off = 0;

		for (int i = 0; i < iovcnt && left > 0; i++) {
			size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;

			memcpy(iov[i].iov_base, area + off, k);
			off += k;
			left -= k;
		}
	}
	if (iovcnt != 1)
		free(area);
	if (r >= 0) {
		if (mt[0] == AF_INET)
			sockaddr_in_out(from, fromlen, mt[1], mt[2]);
		else if (fromlen)
			*fromlen = 0;
		if (msg_flags)
			*msg_flags = mt[3];
	}
	return r;
}

static ssize_t shim_read(void *ud, int fd, void *buf, size_t count)
{
	struct iovec v = { buf, count };

	(void)ud;
	return do_recv(fd, &v, 1, 0, NULL, NULL, NULL);
}

static ssize_t shim_readv(void *ud, int fd, const struct iovec *iov, int iovcnt)
{
	(void)ud;
	return do_recv(fd, iov, iovcnt, 0, NULL, NULL, NULL);
}

static ssize_t shim_recv(void *ud, int fd, void *buf, size_t len, int flags)
{
	struct iovec v = { buf, len };

	(void)ud;
	return do_recv(fd, &v, 1, flags, NULL, NULL, NULL);
}

static ssize_t shim_recvfrom(void *ud, int fd, void *buf, size_t len, int flags,
			     struct sockaddr *src, socklen_t *srclen)
{
	struct iovec v = { buf, len };

	(void)ud;
	return do_recv(fd, &v, 1, flags, src, srclen, NULL);
}

static ssize_t shim_recvmsg(void *ud, int fd, struct msghdr *msg, int flags)
{
	ssize_t r;

	(void)ud;
	if (!msg) {
		errno = EFAULT;
		return -1;
	}
	r = do_recv(fd, msg->msg_iov, (int)msg->msg_iovlen, flags, msg->msg_name,
		    msg->msg_name ? &msg->msg_namelen : NULL, &msg->msg_flags);
	if (r >= 0)
		msg->msg_controllen = 0; /* no ancillary data */
	return r;
}

/* Every send call: from one contiguous area (the caller's, or the iovecs gathered), to an address if given. */
static ssize_t do_send(int fd, const struct iovec *iov, int iovcnt, int flags,
		       const struct sockaddr *to, socklen_t tolen)
{
	JNIEnv *e;
	jint family = -1, ip = 0, port = -1;
	ssize_t total = iov_total(iov, iovcnt);
	char *area;
	int r;

	if (total < 0)
		return -1;
	if (to) {
		int err = sockaddr_in_args(to, tolen, &family, &ip, &port);

		if (err) {
			errno = err;
			return -1;
		}
	}
	area = iovcnt == 1 ? iov[0].iov_base : malloc(total ? (size_t)total : 1);
	if (!area && total) {
		errno = ENOMEM;
		return -1;
	}
	if (iovcnt != 1) {
		size_t off = 0;

		for (int i = 0; i < iovcnt; i++) {
			memcpy(area + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
	}
	e = enter();
	r = leave(e, (*e)->CallStaticIntMethod(e, entry, m.send, fd, buffer(e, area, (size_t)total), flags, family, ip, port));
	if (iovcnt != 1)
		free(area);
	return r;
}

static ssize_t shim_write(void *ud, int fd, const void *buf, size_t count)
{
	struct iovec v = { (void *)buf, count };

	(void)ud;
	return do_send(fd, &v, 1, 0, NULL, 0);
}

static ssize_t shim_writev(void *ud, int fd, const struct iovec *iov, int iovcnt)
{
	(void)ud;
	return do_send(fd, iov, iovcnt, 0, NULL, 0);
}

static ssize_t shim_send(void *ud, int fd, const void *buf, size_t len, int flags)
{
	struct iovec v = { (void *)buf, len };

	(void)ud;
	return do_send(fd, &v, 1, flags, NULL, 0);
}

static ssize_t shim_sendto(void *ud, int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *to, socklen_t tolen)
{
	struct iovec v = { (void *)buf, len };

	(void)ud;
	return do_send(fd, &v, 1, flags, to, tolen);
}

static ssize_t shim_sendmsg(void *ud, int fd, const struct msghdr *msg, int flags)
{
	(void)ud;
	if (!msg) {
		errno = EFAULT;
		return -1;
	}
	if (msg->msg_controllen > 0) {
		fputs("kextnet-packetdrill: sendmsg with ancillary data is not supported\n", stderr);
		errno = EOPNOTSUPP;
		return -1;
	}
	return do_send(fd, msg->msg_iov, (int)msg->msg_iovlen, flags, msg->msg_name, msg->msg_namelen);
}

static int shim_shutdown(void *ud, int fd, int how)
{
	JNIEnv *e = enter();

	(void)ud;
	return leave(e, (*e)->CallStaticIntMethod(e, entry, m.shutdown, fd, how));
}

static int shim_getsockopt(void *ud, int fd, int level, int name, void *val, socklen_t *len)
{
	JNIEnv *e;
	int r;

	(void)ud;
	if (!len || (!val && *len > 0)) {
		errno = EFAULT;
		return -1;
	}
	e = enter();
	r = leave(e, (*e)->CallStaticIntMethod(e, entry, m.getsockopt, fd, level, name, buffer(e, val, *len)));
	if (r < 0)
		return -1;
	*len = (socklen_t)r;
	return 0;
}

static int shim_setsockopt(void *ud, int fd, int level, int name, const void *val, socklen_t len)
{
	JNIEnv *e;

	(void)ud;
	if (!val && len > 0) {
		errno = EFAULT;
		return -1;
	}
	e = enter();
	return leave(e, (*e)->CallStaticIntMethod(e, entry, m.setsockopt, fd, level, name, buffer(e, (void *)val, len))) < 0 ? -1 : 0;
}

static int shim_poll(void *ud, struct pollfd *fds, nfds_t nfds, int timeout)
{
	JNIEnv *e;
	jintArray in, out;
	jint *pairs;
	int r;

	(void)ud;
	if (nfds > 4096) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0 && !fds) {
		errno = EFAULT;
		return -1;
	}
	pairs = malloc(2 * (nfds ? nfds : 1) * sizeof(jint));
	if (!pairs) {
		errno = ENOMEM;
		return -1;
	}
	for (nfds_t i = 0; i < nfds; i++) {
		pairs[2 * i] = fds[i].fd;
		pairs[2 * i + 1] = fds[i].events;
	}
	e = enter();
	in = (*e)->NewIntArray(e, (jsize)(2 * nfds));
	out = (*e)->NewIntArray(e, (jsize)nfds);
	(*e)->SetIntArrayRegion(e, in, 0, (jsize)(2 * nfds), pairs);
	r = (*e)->CallStaticIntMethod(e, entry, m.poll, in, out, timeout);
	if (!(*e)->ExceptionCheck(e) && r >= 0) {
		(*e)->GetIntArrayRegion(e, out, 0, (jsize)nfds, pairs);
		for (nfds_t i = 0; i < nfds; i++)
			fds[i].revents = (short)pairs[i];
	}
	free(pairs);
	return leave(e, r);
}

static int shim_epoll_create(void *ud, int size)
{
	JNIEnv *e;
	int fd = reserve_fd();

	(void)ud;
	if (fd < 0)
		return -1;
	e = enter();
	return keep_fd_if_taken(leave(e, (*e)->CallStaticIntMethod(e, entry, m.epoll_create, fd, size)), fd);
}

static int shim_epoll_ctl(void *ud, int epfd, int op, int fd, struct epoll_event *event)
{
	JNIEnv *e;
	jint events = 0;
	jlong data = 0;

	(void)ud;
	if (op != EPOLL_CTL_DEL) {
		if (!event) {
			errno = EFAULT;
			return -1;
		}
		events = (jint)event->events;
		data = (jlong)event->data.u64;
	}
	e = enter();
	return leave(e, (*e)->CallStaticIntMethod(e, entry, m.epoll_ctl, epfd, op, fd, events, data));
}

static int shim_epoll_wait(void *ud, int epfd, struct epoll_event *events, int max, int timeout)
{
	JNIEnv *e;
	jintArray ev;
	jlongArray data;
	jint *evs;
	jlong *datas;
	int r, n = max > 0 && max <= 4096 ? max : 1;

	(void)ud;
	if (max > 0 && !events) {
		errno = EFAULT;
		return -1;
	}
	evs = malloc(n * sizeof(jint));
	datas = malloc(n * sizeof(jlong));
	if (!evs || !datas) {
		free(evs);
		free(datas);
		errno = ENOMEM;
		return -1;
	}
	e = enter();
	ev = (*e)->NewIntArray(e, n);
	data = (*e)->NewLongArray(e, n);
	r = (*e)->CallStaticIntMethod(e, entry, m.epoll_wait, epfd, ev, data, max > 4096 ? -1 : max, timeout);
	if (!(*e)->ExceptionCheck(e) && r > 0) {
		(*e)->GetIntArrayRegion(e, ev, 0, r, evs);
		(*e)->GetLongArrayRegion(e, data, 0, r, datas);
		for (int i = 0; i < r; i++) {
			events[i].events = (uint32_t)evs[i];
			events[i].data.u64 = (uint64_t)datas[i];
		}
	}
	free(evs);
	free(datas);
	return leave(e, r);
}

static int shim_pipe(void *ud, int pipefd[2])
{
	(void)ud;
	(void)pipefd;
	errno = ENOSYS;
	return -1;
}

static int shim_splice(void *ud, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len, unsigned int flags)
{
	(void)ud;
	(void)fd_in;
	(void)off_in;
	(void)fd_out;
	(void)off_out;
	(void)len;
	(void)flags;
	errno = ENOSYS;
	return -1;
}

static void shim_free(void *ud)
{
	JNIEnv *e = enter();

	(void)ud;
	(*e)->CallStaticVoidMethod(e, entry, m.free);
	leave(e, 0);
	/* The JVM stays: DestroyJavaVM would wait for its threads, and the process is about to exit. */
}

/* ---- start-up ---- */

/* The configuration file: $KEXTNET_PACKETDRILL_CONF, else kextnet-packetdrill.conf beside this library. */
static FILE *open_config(char *path, size_t size)
{
	const char *env_path = getenv("KEXTNET_PACKETDRILL_CONF");
	Dl_info info;
	char *slash;

	if (env_path && *env_path) {
		snprintf(path, size, "%s", env_path);
	} else {
		if (!dladdr((void *)open_config, &info) || !info.dli_fname)
			fatal("cannot find where the shim library was loaded from");
		snprintf(path, size, "%s", info.dli_fname);
		slash = strrchr(path, '/');
		snprintf(slash ? slash + 1 : path, size - (size_t)(slash ? slash + 1 - path : 0), "%s",
			 "kextnet-packetdrill.conf");
	}
	return fopen(path, "r");
}

static jmethodID method(JNIEnv *e, const char *name, const char *sig)
{
	jmethodID id = (*e)->GetStaticMethodID(e, entry, name, sig);

	if (!id)
		fatal("the Java side lacks %s%s: is the class path in the configuration current?", name, sig);
	return id;
}

static void start_jvm(void)
{
	static char line[LINE_MAX_LEN];
	char path[4096], *jvm_path = NULL;
	char *options[MAX_OPTIONS];
	JavaVMOption opts[MAX_OPTIONS];
	JavaVMInitArgs args;
	jint (*create)(JavaVM **, void **, void *);
	int n = 0, have_cp = 0;
	void *lib;
	JNIEnv *e;
	FILE *f = open_config(path, sizeof(path));

	if (!f)
		fatal("cannot read %s: build the shim with packetdrill/build.sh (docs/packetdrill.md)", path);
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (n >= MAX_OPTIONS - 1)
			fatal("%s: more than %d options", path, MAX_OPTIONS - 2);
		if (!strncmp(line, "jvm=", 4)) {
			free(jvm_path);
			jvm_path = strdup(line + 4);
		} else if (!strncmp(line, "classpath=", 10)) {
			if (asprintf(&options[n++], "-Djava.class.path=%s", line + 10) < 0)
				fatal("out of memory");
			have_cp = 1;
		} else if (!strncmp(line, "option=", 7)) {
			options[n++] = strdup(line + 7);
		} else {
			fatal("%s: unknown line '%s' (expected jvm=, classpath= or option=)", path, line);
		}
	}
	fclose(f);
	if (!jvm_path || !*jvm_path || !have_cp)
		fatal("%s needs a jvm= and a classpath= line", path);

	lib = dlopen(jvm_path, RTLD_NOW | RTLD_GLOBAL);
	if (!lib)
		fatal("cannot load the JVM: %s", dlerror());
	create = (jint (*)(JavaVM **, void **, void *))dlsym(lib, "JNI_CreateJavaVM");
	if (!create)
		fatal("%s has no JNI_CreateJavaVM", jvm_path);
	for (int i = 0; i < n; i++) {
		opts[i].optionString = options[i];
		opts[i].extraInfo = NULL;
	}
	args.version = JNI_VERSION_21;
	args.nOptions = n;
	args.options = opts;
	args.ignoreUnrecognized = JNI_FALSE;
	if (create(&vm, (void **)&e, &args) != JNI_OK)
		fatal("the JVM did not start (options from %s)", path);
	thread_env = e;

	entry = (*e)->FindClass(e, ENTRY_CLASS);
	if (!entry) {
		(*e)->ExceptionDescribe(e);
		fatal("class %s not found on the class path of %s", ENTRY_CLASS, path);
	}
	entry = (*e)->NewGlobalRef(e, entry);
	m.init = method(e, "init", "(Ljava/lang/String;)Ljava/lang/String;");
	m.free = method(e, "free", "()V");
	m.gettimeofday = method(e, "gettimeofday", "()J");
	m.usleep = method(e, "usleep", "(J)I");
	m.netdev_send = method(e, "netdevSend", "(Ljava/nio/ByteBuffer;)I");
	m.netdev_receive = method(e, "netdevReceive", "(Ljava/nio/ByteBuffer;[J)I");
	m.socket = method(e, "socket", "(IIII)I");
	m.bind = method(e, "bind", "(IIII)I");
	m.listen = method(e, "listen", "(II)I");
	m.accept = method(e, "accept", "(II[I)I");
	m.connect = method(e, "connect", "(IIII)I");
	m.recv = method(e, "recv", "(ILjava/nio/ByteBuffer;I[I)I");
	m.send = method(e, "send", "(ILjava/nio/ByteBuffer;IIII)I");
	m.fcntl = method(e, "fcntl", "(III)I");
	m.ioctl = method(e, "ioctl", "(IJ[I)I");
	m.close = method(e, "close", "(I)I");
	m.shutdown = method(e, "shutdown", "(II)I");
	m.getsockopt = method(e, "getsockopt", "(IIILjava/nio/ByteBuffer;)I");
	m.setsockopt = method(e, "setsockopt", "(IIILjava/nio/ByteBuffer;)I");
	m.poll = method(e, "poll", "([I[II)I");
	m.epoll_create = method(e, "epollCreate", "(II)I");
	m.epoll_ctl = method(e, "epollCtl", "(IIIIJ)I");
	m.epoll_wait = method(e, "epollWait", "(I[I[JII)I");
}

/*
 * The kernel must carry the addresses packetdrill was told to use, which packetdrill does not pass to a shim:
 * they are read from its command line (--local_ip, --netmask_ip, --mtu, in either "--opt=value" or "--opt value"
 * form) and put before --so_flags, which may still override them.
 */
static char *flags_with_command_line(const char *flags)
{
	static const char *const options[][2] = {
		{ "--local_ip", "local_ip" }, { "--netmask_ip", "netmask" }, { "--mtu", "mtu" },
	};
	char args[65536], *out = NULL;
	size_t len = 0, outlen = 0;
	int have_local = 0;
	FILE *f = fopen("/proc/self/cmdline", "r");
	FILE *o = open_memstream(&out, &outlen);

	if (!o)
		fatal("out of memory");
	if (f) {
		len = fread(args, 1, sizeof(args) - 1, f);
		fclose(f);
	}
	args[len] = '\0';
	for (size_t at = 0; at < len; at += strlen(args + at) + 1) {
		const char *a = args + at;

		for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
			size_t n = strlen(options[i][0]);
			const char *value = NULL;

			if (strncmp(a, options[i][0], n))
				continue;
			if (a[n] == '=')
				value = a + n + 1;
			else if (a[n] == '\0' && at + n + 1 < len)
				value = a + n + 1;
			if (!value)
				continue;
			fprintf(o, "%s=%s ", options[i][1], value);
			if (i == 0)
				have_local = 1;
		}
	}
	if (!have_local)
		fputs("kextnet-packetdrill: packetdrill runs without --local_ip, so its local address is random and the "
		      "kernel's (192.168.0.1 unless --so_flags says local_ip=) will not match: pass --local_ip=192.168.0.1\n",
		      stderr);
	fputs(flags ? flags : "", o);
	fclose(o);
	return out;
}

void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)
{
	JNIEnv *e;
	jstring error;
	char *all_flags;

	/*
	 * packetdrill locks all its memory (mlockall) to keep real time; on virtual time that is moot, and
	 * with MCL_FUTURE every page the JVM maps would be pinned.
	 */
	munlockall();
	drop_realtime_policy();
	start_jvm();

	all_flags = flags_with_command_line(flags);
	e = enter();
	error = (jstring)(*e)->CallStaticObjectMethod(e, entry, m.init, (*e)->NewStringUTF(e, all_flags));
	free(all_flags);
	if ((*e)->ExceptionCheck(e)) {
		(*e)->ExceptionDescribe(e);
		fatal("the Java side failed to start");
	}
	if (error) {
		const char *msg = (*e)->GetStringUTFChars(e, error, NULL);

		fatal("%s", msg ? msg : "the Java side failed to start");
	}
	(*e)->PopLocalFrame(e, NULL);

	memset(ifc, 0, sizeof(*ifc));
	ifc->userdata = NULL;
	ifc->free = shim_free;
	ifc->socket = shim_socket;
	ifc->bind = shim_bind;
	ifc->listen = shim_listen;
	ifc->accept = shim_accept;
	ifc->connect = shim_connect;
	ifc->read = shim_read;
	ifc->readv = shim_readv;
	ifc->recv = shim_recv;
	ifc->recvfrom = shim_recvfrom;
	ifc->recvmsg = shim_recvmsg;
	ifc->write = shim_write;
	ifc->writev = shim_writev;
	ifc->send = shim_send;
	ifc->sendto = shim_sendto;
	ifc->sendmsg = shim_sendmsg;
	ifc->fcntl = shim_fcntl;
	ifc->ioctl = shim_ioctl;
	ifc->close = shim_close;
	ifc->shutdown = shim_shutdown;
	ifc->getsockopt = shim_getsockopt;
	ifc->setsockopt = shim_setsockopt;
	ifc->poll = shim_poll;
	ifc->netdev_send = shim_netdev_send;
	ifc->netdev_receive = shim_netdev_receive;
	ifc->usleep = shim_usleep;
	ifc->gettimeofday = shim_gettimeofday;
	ifc->epoll_create = shim_epoll_create;
	ifc->epoll_ctl = shim_epoll_ctl;
	ifc->epoll_wait = shim_epoll_wait;
	ifc->pipe = shim_pipe;
	ifc->splice = shim_splice;
}
