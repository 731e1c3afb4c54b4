package semantic

import (
	"sort"
	"strconv"
	"strings"
)

// splitVersion reads a metric named with a version, "gmv_paid@3"; version is 0 without one, or
// -1 when what follows @ is not a version number.
func splitVersion(name string) (base string, version int) {
	base, v, ok := strings.Cut(name, "@")
	if !ok {
		return name, 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return base, -1
	}
	return base, n
}

// versionPins returns the versions a query's metrics are pinned to, by metric name.
func versionPins(metrics []string) (map[string]int, error) {
	var pins map[string]int
	unpinned := map[string]bool{}
	for _, name := range metrics {
		base, v := splitVersion(name)
		switch {
		case v < 0:
			return nil, invalid("%q is not a metric and version; write NAME@VERSION with a version number from 1, such as gmv_paid@3", name)
		case v == 0:
			unpinned[base] = true
			continue
		}
		if pins == nil {
			pins = map[string]int{}
		}
		if prev, ok := pins[base]; ok && prev != v {
			return nil, invalid("metric %s is asked for at versions %d and %d; ask one query per version", base, prev, v)
		}
		pins[base] = v
	}
	for base := range pins {
		if unpinned[base] {
			return nil, invalid("metric %s is asked for both pinned (@%d) and as published; ask one query per version", base, pins[base])
		}
	}
	return pins, nil
}

// usedVersions lists the metrics of a query and those they are built on, with their versions,
// sorted by name, and a warning for each that is deprecated.
func usedVersions(metrics []*Metric) ([]MetricVersion, []string) {
	seen := map[*Metric]bool{}
	var walk func(m *Metric)
	walk = func(m *Metric) {
		if seen[m] {
			return
		}
		seen[m] = true
		for _, d := range m.DependsOn() {
			walk(d)
		}
	}
	for _, m := range metrics {
		walk(m)
	}
	var versions []MetricVersion
	var warnings []string
	for m := range seen {
		versions = append(versions, MetricVersion{Metric: m.Name, Version: m.Version})
		if notice := m.DeprecationNotice(); notice != "" {
			warnings = append(warnings, "metric "+m.Name+" is "+notice)
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i].Metric < versions[j].Metric })
	sort.Strings(warnings)
	return versions, warnings
}
