package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	fiassim "callgate/pms/fias/sim"

	apaleosim "callgate/pms/apaleo/sim"
	mewssim "callgate/pms/mews/sim"
	operasim "callgate/pms/operacloud/sim"
)

// The cloud PMS simulators behind gateway sim pms --protocol: each serves
// its PMS's documented API on --listen with a guest in every room of
// --rooms not in --vacant, and prints how to point a gateway at it.
func init() {
	cloudSims["mews"] = func(ctx context.Context, a *app, c fiassim.RunConfig) error {
		return simUsage(mewssim.Run(ctx, mewssim.RunConfig{Listen: c.Listen, Rooms: c.Rooms, Vacant: c.Vacant, Out: a.stdout, Logger: a.log}))
	}
	cloudSims["opera-cloud"] = func(ctx context.Context, a *app, c fiassim.RunConfig) error {
		occupied, err := occupiedRooms(c)
		if err != nil {
			return err
		}
		return simUsage(operasim.Run(ctx, operasim.RunConfig{Listen: c.Listen, Rooms: joinRooms(occupied), Out: a.stdout, Logger: a.log}))
	}
	cloudSims["apaleo"] = func(ctx context.Context, a *app, c fiassim.RunConfig) error {
		rooms, err := mewssim.ParseRooms(c.Rooms)
		if err != nil || len(rooms) == 0 {
			return usageError{fmt.Sprintf("--rooms %q: give the hotel's rooms, like 101-160", c.Rooms)}
		}
		occupied, err := occupiedRooms(c)
		if err != nil {
			return err
		}
		o := apaleosim.Options{Rooms: rooms, Occupied: occupied, Logger: a.log}
		s, err := apaleosim.Start(o, c.Listen)
		if err != nil {
			return err
		}
		// The address it listens on, not --listen: a port 0 is chosen here.
		fmt.Fprintf(a.stdout, "apaleo simulator on %s: point the gateway at it with\n"+
			"pms: {protocol: apaleo, base_url: %q, property: MUC, auth: {token_url: %q, client_id: callgate, client_secret_file: FILE}}\n"+
			"where FILE holds the line sim-secret\n", s.URL(), s.URL(), s.TokenURL())
		a.log.Info().Str("url", s.URL()).Int("rooms", len(rooms)).Int("in_house", len(occupied)).Msg("apaleo simulator serving")
		<-ctx.Done()
		return s.Close()
	}
}

// occupiedRooms is --rooms without --vacant.
func occupiedRooms(c fiassim.RunConfig) ([]string, error) {
	rooms, err := mewssim.ParseRooms(c.Rooms)
	if err != nil || len(rooms) == 0 {
		return nil, usageError{fmt.Sprintf("--rooms %q: give the hotel's rooms, like 101-160", c.Rooms)}
	}
	vacant, err := mewssim.ParseRooms(c.Vacant)
	if err != nil {
		return nil, usageError{"--vacant: " + err.Error()}
	}
	return slices.DeleteFunc(rooms, func(r string) bool { return slices.Contains(vacant, r) }), nil
}

func joinRooms(rooms []string) string {
	out := ""
	for i, r := range rooms {
		if i > 0 {
			out += ","
		}
		out += r
	}
	return out
}

// simUsage turns a simulator's usage error into the command's.
func simUsage(err error) error {
	var me *mewssim.UsageError
	var oe *operasim.UsageError
	switch {
	case errors.As(err, &me):
		return usageError{me.Msg}
	case errors.As(err, &oe):
		return usageError{oe.Msg}
	}
	return err
}
