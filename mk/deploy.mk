# Deployment: the recipes (nginx.conf.example, deploy/) installed under
# $(PREFIX)/share/b24hook by make install, and make serve.  Tested by
# tests/e2e/test_{nginx,apache,rotation,rsyslog}.sh.
.PHONY: install-share serve

SHAREDIR ?= $(PREFIX)/share/b24hook
DEPLOY_SCRIPTS = deploy/spawn-fcgi/b24hook-spawn
DEPLOY_FILES = $(filter-out $(DEPLOY_SCRIPTS),$(wildcard deploy/*/*))

install: install-share

install-share:
	install -d $(DESTDIR)$(SHAREDIR)
	install -m 0644 README.md nginx.conf.example $(DESTDIR)$(SHAREDIR)/
	for f in $(DEPLOY_FILES); do \
		install -D -m 0644 $$f $(DESTDIR)$(SHAREDIR)/$$f || exit 1; \
	done
	for f in $(DEPLOY_SCRIPTS); do \
		install -D -m 0755 $$f $(DESTDIR)$(SHAREDIR)/$$f || exit 1; \
	done

# nginx + the persistent responder on 127.0.0.1:8080 (SERVE_PORT) in the
# foreground, from nginx.conf.example; Ctrl-C stops both.
serve:
	@sh scripts/deps.sh scripts/deps.d/core.txt deploy/serve-deps.txt
	$(MAKE) build/b24hook
	@bash scripts/serve.sh
