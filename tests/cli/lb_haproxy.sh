#!/usr/bin/env bash
# Three replicas behind HAProxy running deploy/haproxy.cfg, one killed and one drained under load
# (tests/cli/lb_faults.bash says what must hold). Exit 77 (skip) without haproxy.
export LB_KIND=haproxy
exec bash "$(dirname "$0")/lb_faults.bash"
