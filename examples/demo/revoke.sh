#!/bin/sh
# Demo revoke command: prints the revoke it would make.
printf 'demo: revoke %s access to %s\n' "$1" "$2"
