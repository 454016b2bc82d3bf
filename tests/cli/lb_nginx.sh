#!/usr/bin/env bash
# Three replicas behind nginx running deploy/nginx.conf, one killed and one drained under load
# (tests/cli/lb_faults.bash says what must hold). Exit 77 (skip) without nginx.
export LB_KIND=nginx
exec bash "$(dirname "$0")/lb_faults.bash"
