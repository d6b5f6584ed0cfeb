package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// testjob is the scenarios' container command: a portable stand-in for
// `sh -c`, installed on the scripts' PATH by testscript.Main. Its arguments
// are steps separated by ";", each argument with $VAR expanded:
//
//	echo WORDS...     print to stdout          stderr WORDS...  to stderr
//	sleep DURATION    "0.5s", or seconds ("30") exit CODE
//	once FILE CODE    the first run creates FILE and exits CODE; later runs go on
//	exitfor V LIST CODE  exits CODE when V is one of the comma-separated LIST
//	long N            print one line of N "x" bytes
//	touch FILE        create FILE               waitfile FILE  wait until FILE exists
//	isset VAR         print "VAR set" or "VAR unset" (an empty value is set)
func testjobMain() { os.Exit(testjob(os.Args[1:], os.Stdout, os.Stderr)) }

func testjob(args []string, stdout, stderr io.Writer) int {
	for len(args) > 0 {
		end := len(args)
		for i, a := range args {
			if a == ";" {
				end = i
				break
			}
		}
		step := make([]string, end)
		for i, a := range args[:end] {
			step[i] = os.ExpandEnv(a)
		}
		args = args[min(end+1, len(args)):]
		if len(step) == 0 {
			continue
		}
		switch op, rest := step[0], step[1:]; {
		case op == "isset" && len(rest) == 1:
			_, set := os.LookupEnv(rest[0])
			fmt.Fprintln(stdout, rest[0], map[bool]string{true: "set", false: "unset"}[set])
		case op == "echo":
			fmt.Fprintln(stdout, strings.Join(rest, " "))
		case op == "stderr":
			fmt.Fprintln(stderr, strings.Join(rest, " "))
		case op == "sleep" && len(rest) == 1:
			d, err := time.ParseDuration(rest[0])
			if s, serr := strconv.ParseFloat(rest[0], 64); serr == nil {
				d, err = time.Duration(s*float64(time.Second)), nil
			}
			if err != nil {
				fmt.Fprintln(stderr, "testjob: sleep:", err)
				return 2
			}
			time.Sleep(d)
		case op == "exit" && len(rest) == 1:
			code, err := strconv.Atoi(rest[0])
			if err != nil {
				fmt.Fprintln(stderr, "testjob: exit:", err)
				return 2
			}
			return code
		case op == "once" && len(rest) == 2:
			if _, err := os.Stat(rest[0]); err != nil {
				if err := os.WriteFile(rest[0], nil, 0o600); err != nil {
					fmt.Fprintln(stderr, "testjob:", err)
					return 2
				}
				code, _ := strconv.Atoi(rest[1])
				return code
			}
		case op == "long" && len(rest) == 1:
			n, err := strconv.Atoi(rest[0])
			if err != nil {
				fmt.Fprintln(stderr, "testjob: long:", err)
				return 2
			}
			fmt.Fprintln(stdout, strings.Repeat("x", n))
		case op == "exitfor" && len(rest) == 3:
			if slices.Contains(strings.Split(rest[1], ","), rest[0]) {
				code, _ := strconv.Atoi(rest[2])
				return code
			}
		case op == "touch" && len(rest) == 1:
			if err := os.WriteFile(rest[0], nil, 0o600); err != nil {
				fmt.Fprintln(stderr, "testjob:", err)
				return 2
			}
		case op == "waitfile" && len(rest) == 1:
			for !fileExists(rest[0]) {
				time.Sleep(5 * time.Millisecond) // polls a condition the script sets
			}
		default:
			fmt.Fprintf(stderr, "testjob: unknown step %q\n", strings.Join(step, " "))
			return 2
		}
	}
	return 0
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
