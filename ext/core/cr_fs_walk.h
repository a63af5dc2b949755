/*
 * cr_fs_walk.h (POSIX) - the one walk of a directory tree under cr_fs.h's
 * tree copy, compare and remove (cr_fs_tree.c).
 *
 * The walk opens every directory with openat(O_NOFOLLOW|O_DIRECTORY) under
 * the descriptor of its parent and checks that what it opened is what it
 * listed, so a symlink planted in the tree is met as a symlink, never
 * followed.  Each directory's entries come sorted bytewise, so that two
 * trees walked side by side meet their names in the same order (the
 * compare's first difference).  Nesting is bounded by CR_TREE_MAX_DEPTH,
 * a directory's entries by CR_TREE_MAX_ENTRIES.
 */
#ifndef CR_FS_WALK_H
#define CR_FS_WALK_H

#include <stdbool.h>
#include <sys/stat.h>

#include "cr_err.h"

enum cr_walk_event {
	CR_WALK_ENTRY,	/* anything but a directory: file, symlink, fifo ... */
	CR_WALK_ENTER,	/* a directory, opened and checked, before its entries */
	CR_WALK_LEAVE,	/* a directory after its entries; the root last */
};

/* What the walk is at, for the visitor. */
struct cr_walk_at {
	enum cr_walk_event event;
	int dir;		/* the open directory holding name; -1 at the root */
	/* The visitor's twin of that directory (a copy's destination, the
	 * other tree of a compare; -1 when it has none).  At a LEAVE: the
	 * twin of the directory left. */
	int twin;
	const char *name;	/* the entry; NULL at the root's LEAVE */
	const char *path;	/* root/rel, for messages */
	const char *rel;	/* relative to the root, "" for the root */
	const struct stat *st;	/* the entry's, not followed; NULL at the root */
	int depth;		/* the root 0, its entries 1, ... */
};

/*
 * Called once per event; false (err set) stops the walk, which then
 * returns false.  At an ENTER the visitor may set *child_twin to a
 * directory descriptor: the walk hands it as twin to everything in that
 * directory and to its LEAVE, then closes it (also when the walk stops).
 * child_twin is NULL at the other events.
 */
typedef bool (*cr_walk_visit)(const struct cr_walk_at *at, int *child_twin,
    void *ctx, cr_err *err);

/*
 * Walks the open directory root_fd (named root in messages; its twin
 * root_twin), depth first, each directory's entries in bytewise order,
 * and ends with the root's LEAVE.  root_fd and root_twin stay the
 * caller's.
 */
bool cr_walk(int root_fd, int root_twin, const char *root,
    cr_walk_visit visit, void *ctx, cr_err *err);

/* New "root/rel" (root itself when rel is ""), NULL when out of memory. */
char *cr_walk_path(const char *root, const char *rel);

#endif
