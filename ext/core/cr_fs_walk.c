/*
 * cr_fs_walk.c (POSIX) - the tree walk under the copy, compare and remove
 * of cr_fs_tree.c (see cr_fs_walk.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cr_fs.h"
#include "cr_fs_walk.h"
#include "sys/cr_sys_fs.h"

struct walk {
	const char *root;
	cr_walk_visit visit;
	void *ctx;
};

char *
cr_walk_path(const char *root, const char *rel)
{
	char *out = NULL;

	if (rel[0] == '\0')
		out = strdup(root);
	else if (asprintf(&out, "%s/%s", root, rel) == -1)
		out = NULL;
	return out;
}

static bool walk_dir(const struct walk *w, int fd, int twin, const char *rel,
    const char *path, int depth, cr_err *err);

/* A directory entry: opened without following it, checked to be the one
 * listed, then entered, walked and left. */
static bool
walk_subdir(const struct walk *w, struct cr_walk_at *at, cr_err *err)
{
	bool ok = false;
	struct stat now;
	int fd = -1, twin = -1;

	/* checked before the visitor makes anything, so that a partial
	 * copy stays within what cr_tree_remove will remove */
	if (at->depth > CR_TREE_MAX_DEPTH) {
		cr_err_set(err, CR_KIND_IO, "%s is nested more than %d deep",
		    at->path, CR_TREE_MAX_DEPTH);
		goto out;
	}
	if ((fd = cr_dir_open_at(at->dir, at->name)) == -1 ||
	    fstat(fd, &now) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot open %s",
		    at->path);
		goto out;
	}
	if (now.st_ino != at->st->st_ino || now.st_dev != at->st->st_dev) {
		cr_err_set(err, CR_KIND_IO, "%s changed while the tree was "
		    "walked", at->path);
		cr_err_next(err, "stop what changes %s, then rerun", w->root);
		goto out;
	}
	at->st = &now;
	at->event = CR_WALK_ENTER;
	if (!w->visit(at, &twin, w->ctx, err) ||
	    !walk_dir(w, fd, twin, at->rel, at->path, at->depth, err))
		goto out;
	close(fd);
	fd = -1;
	at->event = CR_WALK_LEAVE;
	at->twin = twin;
	ok = w->visit(at, NULL, w->ctx, err);
out:
	if (fd != -1)
		close(fd);
	if (twin != -1)
		close(twin);
	return ok;
}

/* One entry name of the open directory fd at rel: looked at without
 * following it, then visited (walked first when it is a directory). */
static bool
walk_entry(const struct walk *w, int fd, int twin, const char *rel,
    const char *name, int depth, cr_err *err)
{
	bool ok = false;
	char *crel, *cpath = NULL;
	struct cr_walk_at at;
	struct stat st;

	crel = rel[0] != '\0' ? cr_walk_path(rel, name) : strdup(name);
	if (crel == NULL || (cpath = cr_walk_path(w->root, crel)) == NULL) {
		cr_err_set(err, CR_KIND_NOMEM, "no memory to walk %s", w->root);
		goto out;
	}
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		cr_err_errno(err, CR_KIND_IO, errno, "cannot stat %s", cpath);
		goto out;
	}
	at = (struct cr_walk_at){ CR_WALK_ENTRY, fd, twin, name, cpath, crel,
	    &st, depth + 1 };
	ok = S_ISDIR(st.st_mode) ? walk_subdir(w, &at, err) :
	    w->visit(&at, NULL, w->ctx, err);
out:
	free(crel);
	free(cpath);
	return ok;
}

/* The entries of the open directory fd at rel (path: root/rel, for
 * messages), in bytewise order. */
static bool
walk_dir(const struct walk *w, int fd, int twin, const char *rel,
    const char *path, int depth, cr_err *err)
{
	bool ok;
	char **names = NULL;
	size_t count = 0, i;

	ok = cr_sys_list_dir_at(fd, path, CR_TREE_MAX_ENTRIES, &names, &count,
	    err);
	for (i = 0; ok && i < count; i++)
		ok = walk_entry(w, fd, twin, rel, names[i], depth, err);
	cr_sys_names_free(names, count);
	return ok;
}

bool
cr_walk(int root_fd, int root_twin, const char *root, cr_walk_visit visit,
    void *ctx, cr_err *err)
{
	const struct walk w = { root, visit, ctx };
	const struct cr_walk_at at = { CR_WALK_LEAVE, -1, root_twin, NULL,
	    root, "", NULL, 0 };

	return walk_dir(&w, root_fd, root_twin, "", root, 0, err) &&
	    visit(&at, NULL, ctx, err);
}
