package main

import "strings"

// isArgError recognises cobra's own complaints about arguments and commands.
func isArgError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown command", "accepts ", "requires at least", "arg(s)", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
