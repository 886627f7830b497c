# make install / make uninstall (included by the Makefile, whose install
# target puts the two programs in BINDIR).  Everything else:
#
#   the manual pages             $(MANDIR)/man5, man8
#   README.md, docs/*.md         $(DOCDIR)
#   nginx.conf.example, deploy/  $(EXAMPLEDIR), deploy/ kept as a tree,
#     but for the systemd units  $(UNITDIR)
#     the logrotate snippet      $(LOGROTATEDIR)
#     deploy/etc/ (the settings
#     file, the allow-list)      $(B24CONFDIR)
#
# By default all of them but the pages go under $(PREFIX)/share/b24hook,
# as recipes for the admin to copy; the Debian package (debian/rules) sets
# UNITDIR, LOGROTATEDIR and B24CONFDIR to where they work in place.
#
# Every file is rendered on its way: the sources name the production
# paths /usr/local/bin (the programs), /etc/b24hook (settings) and
# /usr/local/share/b24hook (README.md and docs/ there, the recipes), and
# install writes $(BINDIR), $(SYSCONFDIR)/b24hook, $(DOCDIR) and
# $(EXAMPLEDIR) instead, so the units, examples, pages and docs installed
# name the programs and files where they are.  With the
# defaults the rendering changes nothing.  make uninstall removes exactly
# the files install puts, and the directories of b24hook's own it made
# (a path ending in /b24hook or within one) once they are empty.
.PHONY: install-share uninstall

SYSCONFDIR ?= /etc
SHAREDIR ?= $(PREFIX)/share/b24hook
DOCDIR ?= $(SHAREDIR)
EXAMPLEDIR ?= $(SHAREDIR)
UNITDIR ?= $(EXAMPLEDIR)/deploy/systemd
LOGROTATEDIR ?= $(EXAMPLEDIR)/deploy/logrotate
B24CONFDIR ?= $(EXAMPLEDIR)/deploy/etc
MANDIR ?= $(PREFIX)/share/man

MAN_PAGES = $(wildcard man/*.[1-8])
DOC_FILES = README.md $(wildcard docs/*.md)
DEPLOY_SCRIPTS = deploy/spawn-fcgi/b24hook-spawn
# deploy/<kind>/<file>: where each kind goes (a kind not named here goes
# under $(EXAMPLEDIR)/deploy/<kind>/)
DEPLOY_FILES = $(wildcard deploy/*/*)
deploy_dest = $(strip \
	$(if $(filter deploy/systemd/%,$(1)),$(UNITDIR)/$(notdir $(1)),\
	$(if $(filter deploy/logrotate/%,$(1)),$(LOGROTATEDIR)/$(notdir $(1)),\
	$(if $(filter deploy/etc/%,$(1)),$(B24CONFDIR)/$(notdir $(1)),\
	$(EXAMPLEDIR)/$(1)))))

# SRC DEST MODE, one line each: every file install-share puts
INSTALL_LIST = $(foreach f,$(DOC_FILES),$(f) $(DOCDIR)/$(f) 0644) \
	nginx.conf.example $(EXAMPLEDIR)/nginx.conf.example 0644 \
	$(foreach f,$(DEPLOY_FILES),$(f) $(call deploy_dest,$(f)) \
	    $(if $(filter $(DEPLOY_SCRIPTS),$(f)),0755,0644)) \
	$(foreach f,$(MAN_PAGES),$(f) \
	    $(MANDIR)/man$(subst .,,$(suffix $(f)))/$(notdir $(f)) 0644)

# Each path goes to a marker first, then the markers to the values, so
# no value is rewritten again by a later rule.
RENDER = sed -e 's|/usr/local/bin|\x01B|g' \
	-e 's|/usr/local/share/b24hook/README.md|\x01D/README.md|g' \
	-e 's|/usr/local/share/b24hook/docs|\x01D/docs|g' \
	-e 's|/usr/local/share/b24hook|\x01E|g' \
	-e 's|/etc/b24hook|\x01S/b24hook|g' \
	-e 's|\x01B|$(BINDIR)|g; s|\x01D|$(DOCDIR)|g; s|\x01E|$(EXAMPLEDIR)|g' \
	-e 's|\x01S|$(SYSCONFDIR)|g'

install: install-share

install-share:
	@set -e; set -- $(INSTALL_LIST); while [ $$# -ge 3 ]; do \
		echo "install $$1 $(DESTDIR)$$2"; \
		install -d "$$(dirname "$(DESTDIR)$$2")"; \
		$(RENDER) "$$1" >"$(DESTDIR)$$2.tmp"; \
		chmod "$$3" "$(DESTDIR)$$2.tmp"; \
		mv -f "$(DESTDIR)$$2.tmp" "$(DESTDIR)$$2"; \
		shift 3; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/b24hook $(DESTDIR)$(BINDIR)/b24hookctl
	@set -e; set -- $(INSTALL_LIST); while [ $$# -ge 3 ]; do \
		echo "rm -f $(DESTDIR)$$2"; rm -f "$(DESTDIR)$$2"; shift 3; done
	@set -- $(INSTALL_LIST); while [ $$# -ge 3 ]; do \
		d=$$(dirname "$$2"); \
		while case $$d in */b24hook | */b24hook/*) ;; *) false ;; esac \
		    && rmdir "$(DESTDIR)$$d" 2>/dev/null; do \
			d=$$(dirname "$$d"); \
		done; \
		shift 3; \
	done
