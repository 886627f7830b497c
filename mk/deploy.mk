# Deployment: make serve (the recipes themselves, nginx.conf.example and
# deploy/, are installed by mk/install.mk).  Tested by
# tests/e2e/test_{nginx,apache,rotation,rsyslog}.sh.
.PHONY: serve

# nginx + the persistent responder on 127.0.0.1:8080 (SERVE_PORT) in the
# foreground, from nginx.conf.example; Ctrl-C stops both.  Installs only
# what it needs: the build's packages and nginx, spawn-fcgi.
serve:
	@sh scripts/deps.sh scripts/deps.d/build.txt deploy/serve-deps.txt
	$(MAKE) build/b24hook
	@bash scripts/serve.sh
