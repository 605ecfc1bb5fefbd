package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

func writeJSON(w io.Writer, rep *Report) error {
	if rep.Tenants == nil {
		rep.Tenants = []*TenantReport{}
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// writeText prints the plans for people, one block per Tenant, in input
// order; within a block actions are sorted by op, kind, namespace and name.
// A namespace deletion is marked !! and DELETE, and repeated at the end.
func writeText(w io.Writer, rep *Report) error {
	var b strings.Builder
	var deleted []string
	for _, cr := range rep.Classes {
		fmt.Fprintf(&b, "TenantClass %s (%s)\n", cr.Name, stateText(cr.State))
		if cr.Refused != "" {
			fmt.Fprintf(&b, "  !! refused by the API server (dry run): %s\n", cr.Refused)
		}
	}
	for _, tr := range rep.Tenants {
		state := stateText(tr.State)
		if tr.ClassChanged != "" {
			state += "; TenantClass " + tr.ClassChanged + " changed"
		}
		if tr.NotInInput != "" {
			state += "; not in the input"
		}
		fmt.Fprintf(&b, "Tenant %s (%s)\n", tr.Name, state)
		if tr.Refused != "" {
			fmt.Fprintf(&b, "  !! refused by the API server (dry run): %s\n", tr.Refused)
			continue
		}
		if tr.ClassRefused != "" {
			fmt.Fprintf(&b, "  !! not planned: the API server refuses its TenantClass %s\n", tr.ClassRefused)
			continue
		}
		for _, a := range tr.Actions {
			b.WriteString(actionText(a))
			if a.Op == OpDelete {
				deleted = append(deleted, a.Name)
			}
		}
		for _, c := range tr.Conflicts {
			fmt.Fprintf(&b, "  ! conflict %s\n", c)
		}
		for _, s := range tr.Stalled {
			if len(tr.Refusals) > 0 && s.Reason == "InvalidSpec" {
				continue // the refusals below say it
			}
			fmt.Fprintf(&b, "  ! stalled %s: %s\n", s.Reason, s.Message)
		}
		for _, r := range tr.Refusals {
			fmt.Fprintf(&b, "  ! refused by the API server (dry run): %s\n", r)
		}
		if len(tr.Refusals) > 0 {
			b.WriteString("    nothing of this spec would be applied\n")
		}
		for _, u := range tr.Unchecked {
			fmt.Fprintf(&b, "  ? not checked by the API server (the dry run failed): %s\n", u)
		}
		for _, d := range tr.Drift {
			fmt.Fprintf(&b, "  ! drift left in place (driftPolicy Report): %s\n", d)
		}
		for _, wt := range tr.Waiting {
			fmt.Fprintf(&b, "  . waiting for %s\n", wt)
		}
		if len(tr.Actions)+len(tr.Conflicts)+len(tr.Stalled)+len(tr.Refusals)+len(tr.Unchecked)+len(tr.Drift)+len(tr.Waiting) == 0 {
			b.WriteString("  no changes\n")
		}
	}
	s := rep.Summary
	fmt.Fprintf(&b, "Plan: %d to create, %d to change, %d to adopt, %d to prune, %d to release, %d to DELETE.\n",
		s.Create, s.Change, s.Adopt, s.Prune, s.Release, s.Delete)
	if len(deleted) > 0 {
		fmt.Fprintf(&b, "WARNING: %d %s DELETED, with everything in %s: %s.\n",
			len(deleted), plural(len(deleted), "namespace would be", "namespaces would be"),
			plural(len(deleted), "it", "them"), strings.Join(deleted, ", "))
	}
	if s.Refused > 0 {
		fmt.Fprintf(&b, "ERROR: the API server refuses %s.\n", plural(s.Refused, "an object of the input", strconv.Itoa(s.Refused)+" objects of the input"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func stateText(state string) string {
	if state == StateNew {
		return state
	}
	return "exists; " + state
}

var opMarks = map[string]string{
	OpCreate: "+ create", OpRecreate: "+ recreate", OpChange: "~ change", OpCorrect: "~ correct",
	OpAdopt: "~ adopt", OpPrune: "- prune", OpRelease: "> release", OpDelete: "!! DELETE",
}

func actionText(a Action) string {
	line := "  " + opMarks[a.Op] + " " + a.Key()
	if a.Replace {
		line += " (replaced: roleRef cannot change in place, so it is deleted and created anew)"
	}
	switch {
	case a.Op == OpDelete:
		return line + " and everything in it: " + contentsText(a) + "\n"
	case a.Op == OpCreate:
		return line + "\n"
	case len(a.Changes) == 1 && a.Op == OpChange:
		return line + ": " + changeText(a.Changes[0]) + "\n"
	case len(a.Changes) > 0:
		line += ":"
		if a.Op == OpCorrect {
			line += " (" + a.Why + ")"
		}
		for _, c := range a.Changes {
			line += "\n      " + changeText(c)
		}
		return line + "\n"
	}
	return line + " (" + a.Why + ")\n"
}

func changeText(c Change) string {
	return c.Path + " " + valueText(c.Old) + " → " + valueText(c.New)
}

// valueText is a JSON value, strings bare unless that would be ambiguous.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		if x == "" || x == "(none)" || strings.ContainsAny(x, " \t\n\"→") {
			return strconv.Quote(x)
		}
		return x
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// contentsText is what a namespace deletion takes with it.
func contentsText(a Action) string {
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(a.Contents)) {
		parts = append(parts, fmt.Sprintf("%s: %d", r, a.Contents[r]))
	}
	s := strings.Join(parts, ", ")
	if s == "" {
		s = "no objects found"
	}
	if len(a.Uncounted) > 0 {
		s += "; not counted (could not list them): " + strings.Join(a.Uncounted, ", ")
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
