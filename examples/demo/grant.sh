#!/bin/sh
# Demo grant command: prints the grant it would make. shiftgrant runs it without a shell, with the
# identity, resource, start, end and reason as separate arguments: no value is ever parsed as code.
printf 'demo: grant %s access to %s from %s until %s (%s)\n' "$1" "$2" "$3" "$4" "$5"
