//go:build race

package main

// raceEnabled: this test binary, and so the hubd it runs as, has the race
// detector, whose shadow memory (several bytes for each byte of heap) is
// part of the process's RSS but not of hubd's own use.
const raceEnabled = true
