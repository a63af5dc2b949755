/*
 * cr_compat_musl.h - what glibc has and musl 1.2.3 lacks, for the static
 * musl builds (make TARGET=*-linux-musl force-includes this file).
 *
 * renameat2() is a thin wrapper over the Linux system call; the constants
 * are the kernel's (include/uapi/linux/fs.h).
 */
#ifndef CR_COMPAT_MUSL_H
#define CR_COMPAT_MUSL_H

#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static inline int
cr_compat_renameat2(int olddirfd, const char *oldpath, int newdirfd,
    const char *newpath, unsigned int flags)
{
	return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath,
	    flags);
}
#define renameat2 cr_compat_renameat2

#endif
