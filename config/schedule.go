package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ScheduleParser parses schedule specs: 5 fields, or 6 with seconds first,
// descriptors (@hourly, @every 1h30m) and a CRON_TZ=Zone prefix. The plugin
// gives the same parser to its cron scheduler.
var ScheduleParser = cron.NewParser(
	cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor,
)

const allowedSchedule = `a cron spec of 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), ` +
	`a descriptor (@hourly, @daily, @every 15m), optionally prefixed with CRON_TZ=Zone/Name; "" runs on Telegraf's interval`

// ParseSchedule parses a schedule spec with ScheduleParser. robfig/cron
// v3.0.1 panics on a time-zone prefix with nothing after it ("CRON_TZ=",
// "TZ=Europe/Berlin"): that is refused here, and any other panic of the
// parser becomes an error.
func ParseSchedule(spec string) (s cron.Schedule, err error) {
	if (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && !strings.Contains(spec, " ") {
		return nil, fmt.Errorf("time zone prefix %q without a schedule after it", spec)
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("unparsable spec %q: %v", spec, r)
		}
	}()
	return ScheduleParser.Parse(spec)
}

// scheduleRef is a fixed start for measuring gaps, so results do not depend
// on when the config is loaded.
var scheduleRef = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// minGap returns the shortest time between two consecutive runs of s
// (over a sample of runs), or 0 when s runs fewer than twice.
func minGap(s cron.Schedule) time.Duration {
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		return c.Delay
	}
	var gap time.Duration
	prev := s.Next(scheduleRef)
	for i := 0; i < 64 && !prev.IsZero(); i++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		if d := next.Sub(prev); gap == 0 || d < gap {
			gap = d
		}
		prev = next
	}
	return gap
}
