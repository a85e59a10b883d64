// SPDX-License-Identifier: GPL-2.0
/*
 * Security boundaries: a device file only works for the process that
 * attached it (a file passed over a socket or inherited is refused), the
 * device nodes are root's alone, physical addresses are for
 * CAP_SYS_ADMIN only, the debugfs knobs hold plain numbers, and the module
 * cannot be removed while a file is open.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <lib/test_hmm_uapi.h>
#include "gmem_test_util.h"
#include "kselftest_harness.h"

#define SEC_TIMEOUT	120

/*
 * A channel from the owner of the files to another process.  Files go
 * over an AF_UNIX socket (SCM_RIGHTS); a kernel without networking (the
 * tinyconfig debug kernel) has the receiver take them with pidfd_getfd()
 * instead, which ends the same way: the file, open in another process.
 */
struct chan {
	int to_rx[2];		/* owner -> receiver */
	int to_owner[2];	/* receiver -> owner */
	bool unix_sock;		/* to_rx[0] == to_owner[1] is a socket pair */
	pid_t owner;
};

static int chan_open(struct chan *c)
{
	int sv[2];

	c->owner = getpid();
	if (!socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		c->unix_sock = true;
		c->to_rx[1] = c->to_owner[0] = sv[0];
		c->to_rx[0] = c->to_owner[1] = sv[1];
		return 0;
	}
	/* No AF_UNIX, or no networking at all. */
	if (errno != EAFNOSUPPORT && errno != ENOSYS)
		return -errno;
	c->unix_sock = false;
	return pipe(c->to_rx) || pipe(c->to_owner) ? -errno : 0;
}

/* Send @fd to the receiver. */
static int send_fd(struct chan *ch, int fd)
{
	char data = 'f', ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	if (!ch->unix_sock)
		return write(ch->to_rx[1], &fd, sizeof(fd)) == sizeof(fd) ? 0 : -errno;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(ch->to_rx[1], &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(struct chan *ch)
{
	char data, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;
	int fd, pidfd;

	if (!ch->unix_sock) {
		if (read(ch->to_rx[0], &fd, sizeof(fd)) != sizeof(fd))
			return -EIO;
		pidfd = syscall(SYS_pidfd_open, ch->owner, 0);
		if (pidfd < 0)
			return -errno;
		fd = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		close(pidfd);
		return fd < 0 ? -errno : fd;
	}
	if (recvmsg(ch->to_rx[0], &msg, 0) != 1)
		return -errno;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/*
 * What another process gets from each command on a received gmem_fake
 * file: one errno per command, in a fixed order, or -1 if the command
 * worked.
 */
enum { R_MIGRATE, R_QUERY, R_READ, R_WRITE, R_UNMAP, R_DETACH, R_ATTACH,
       R_MIRROR_READ, R_MIRROR_MIGRATE, R_NR };

static void receiver(struct chan *ch)
{
	size_t len = 16 * GM_PAGE_SIZE;
	void *p = gm_map_anon(len), *b = malloc(len);
	int res[R_NR], fd, mirror;
	struct gmem_fake_migrate m;
	struct gmem_fake_range r = { (uintptr_t)p, len };
	struct gmem_fake_unmap u = { .ranges = (uintptr_t)&r, .nr = 1 };
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)p, .ptr = (uintptr_t)b, .npages = 16,
	};
	uint8_t locs[16];

	fd = recv_fd(ch);
	mirror = recv_fd(ch);
	if (!p || !b || fd < 0 || mirror < 0)
		_exit(100);
	gm_fill(p, 0, 16, 9);
	res[R_MIGRATE] = -gm_migrate(fd, p, len, 0, &m);
	res[R_QUERY] = -gm_query(fd, p, 16, locs);
	res[R_READ] = -gm_dev_access(fd, p, len, b, false, NULL);
	res[R_WRITE] = -gm_dev_access(fd, p, len, b, true, NULL);
	res[R_UNMAP] = -gm_ioctl(fd, GMEM_FAKE_IOC_UNMAP, &u);
	res[R_DETACH] = -gm_detach(fd);
	res[R_ATTACH] = -gm_attach(fd);
	res[R_MIRROR_READ] = ioctl(mirror, HMM_DMIRROR_READ, &cmd) ? errno : 0;
	res[R_MIRROR_MIGRATE] = ioctl(mirror, HMM_DMIRROR_MIGRATE_TO_DEV, &cmd) ? errno : 0;
	if (write(ch->to_owner[1], res, sizeof(res)) != sizeof(res))
		_exit(101);
	/* Our own memory was not touched by anything. */
	_exit(gm_check(p, 0, 16, 9) == -1 ? 0 : 102);
}

/*
 * A file passed to another process over a socket does nothing for it: every
 * command is refused with EACCES (ATTACH: EBUSY, the file is attached), on
 * /dev/gmem_fake0 and on /dev/hmm_dmirror2.
 */
TEST(scm_rights_file_refused)
{
	int res[R_NR], fd, mirror, status, i;
	struct chan ch;
	const int want[R_NR] = {
		[R_MIGRATE] = EACCES, [R_QUERY] = EACCES, [R_READ] = EACCES,
		[R_WRITE] = EACCES, [R_UNMAP] = EACCES, [R_DETACH] = EACCES,
		[R_ATTACH] = EBUSY, [R_MIRROR_READ] = EACCES,
		[R_MIRROR_MIGRATE] = EACCES,
	};
	struct gmem_fake_migrate m;
	void *p;
	pid_t pid;

	ASSERT_EQ(0, chan_open(&ch));
	if (!ch.unix_sock)
		ksft_print_msg("no AF_UNIX sockets in this kernel: passing the files with pidfd_getfd()\n");
	/* The receiver exists before the files do: nothing is inherited. */
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		receiver(&ch);

	fd = gm_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gm_attach(fd));
	mirror = open("/dev/hmm_dmirror2", O_RDWR | O_CLOEXEC);
	if (mirror < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		SKIP(return, "no /dev/hmm_dmirror2 (gmem_fake without dmirror=1)");
	}
	p = gm_map_anon(GM_MIB);
	ASSERT_NE(NULL, p);
	gm_fill(p, 0, gm_pages(GM_MIB), 8);

	ASSERT_EQ(0, send_fd(&ch, fd));
	ASSERT_EQ(0, send_fd(&ch, mirror));
	ASSERT_EQ((ssize_t)sizeof(res), read(ch.to_owner[0], res, sizeof(res)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	for (i = 0; i < R_NR; i++) {
		int got = res[i];

		EXPECT_EQ(want[i], got) TH_LOG("command %d: %s", i, strerror(got));
	}

	/* The owner still can, and its data is intact. */
	ASSERT_EQ(0, gm_migrate(fd, p, GM_MIB, 0, &m));
	ASSERT_EQ(gm_pages(GM_MIB), m.moved);
	ASSERT_EQ(0, gm_migrate(fd, p, GM_MIB, GMEM_FAKE_DEST_HOST, &m));
	ASSERT_EQ(-1, gm_check(p, 0, gm_pages(GM_MIB), 8));
	munmap(p, GM_MIB);
	close(mirror);
	close(fd);
}

/* Device nodes: root's, mode 0600. */
TEST(device_nodes_are_private)
{
	const char *const nodes[] = {
		"/dev/gmem_fake0", "/dev/gmem_fake1", "/dev/hmm_dmirror0",
		"/dev/hmm_dmirror1", "/dev/hmm_dmirror2", "/dev/hmm_dmirror3",
	};
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (stat(nodes[i], &st) && errno == ENOENT && i >= 2)
			continue;	/* no dmirror devices */
		ASSERT_EQ(0, stat(nodes[i], &st)) TH_LOG("%s", nodes[i]);
		EXPECT_EQ(0, st.st_uid) TH_LOG("%s", nodes[i]);
		EXPECT_EQ(0600, st.st_mode & 07777) TH_LOG("%s: mode %o", nodes[i],
							   st.st_mode & 07777);
	}
}

/* Another user cannot open them at all. */
TEST(other_user_cannot_open)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		if (open("/dev/gmem_fake0", O_RDWR) >= 0)
			_exit(101);
		if (errno != EACCES)
			_exit(102);
		if (open("/dev/hmm_dmirror2", O_RDWR) >= 0)
			_exit(103);
		_exit(errno == EACCES || errno == ENOENT ? 0 : 104);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* Drop CAP_SYS_ADMIN from the effective set of the calling thread. */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* Physical addresses are for CAP_SYS_ADMIN only. */
TEST(phys_address_needs_cap_sys_admin)
{
	struct gmem_fake_info info;
	int fd, status;
	pid_t pid;

	fd = gm_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gm_info(fd, &info));
	ASSERT_NE(0, info.devmem_phys);
	close(fd);

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (drop_sys_admin())
			_exit(100);
		fd = gm_open(0);
		if (fd < 0 || gm_info(fd, &info))
			_exit(101);
		_exit(info.devmem_phys == 0 && info.devmem_size ? 0 : 102);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/*
 * The debugfs files are root's and hold plain numbers: nothing that looks
 * like a kernel address, whatever kptr_restrict says.
 */
TEST(debugfs_holds_numbers_only)
{
	const char *const dirs[] = { "/sys/kernel/debug/gmem/", "/sys/kernel/debug/gmem_fake/" };
	char path[256], buf[64];
	struct dirent *e;
	struct stat st;
	size_t i, files = 0;

	for (i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);

		ASSERT_NE(NULL, d) TH_LOG("%s", dirs[i]);
		while ((e = readdir(d))) {
			ssize_t n;
			int fd;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s%s", dirs[i], e->d_name);
			ASSERT_EQ(0, stat(path, &st));
			EXPECT_EQ(0, st.st_mode & 0077) TH_LOG("%s: mode %o", path,
							       st.st_mode & 07777);
			fd = open(path, O_RDONLY);
			ASSERT_LE(0, fd) TH_LOG("%s", path);
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			ASSERT_LT(0, n);
			buf[n] = 0;
			/* A number below 2^32: no pointer, no physical address. */
			EXPECT_GT(1ULL << 32, strtoull(buf, NULL, 0)) TH_LOG("%s: %s", path, buf);
			files++;
		}
		closedir(d);
	}
	ASSERT_LE(7, files);
}

/* rmmod is refused while a file of the module is open. */
TEST(rmmod_refused_while_open)
{
	int fd = gm_open(0);

	ASSERT_LE(0, fd);
	ASSERT_NE(0, gm_sh("rmmod gmem_fake 2>/dev/null"));
	ASSERT_EQ(0, access("/dev/gmem_fake0", F_OK));
	ASSERT_NE(0, gm_sh("rmmod gmem 2>/dev/null"));
	close(fd);
}

TEST_HARNESS_MAIN
