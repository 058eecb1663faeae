// Package fuzz is the glue for fuzzing Tollgate: run.sh runs every fuzz
// target in the module for FUZZTIME each (make fuzz). The targets themselves
// sit beside their parsers, as FuzzXxx in _test.go files, with their seeds
// and any committed crashers under that package's testdata/fuzz/.
package fuzz
