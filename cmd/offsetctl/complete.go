package main

import (
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// plainUsages takes the backquotes out of the usage of every flag of cmd
// and its commands: they name a flag's value in --help (--url URL), and
// would show as they are in a shell's completion.
func plainUsages(cmd *cobra.Command) {
	plain := func(f *pflag.Flag) { _, f.Usage = pflag.UnquoteUsage(f) }
	cmd.PersistentFlags().VisitAll(plain)
	cmd.Flags().VisitAll(plain)
	for _, c := range cmd.Commands() {
		plainUsages(c)
	}
}

// completeName completes the first argument, a projection name, from the
// store of the flags and the environment; withNames completes every
// argument, for export.
func (e *env) completeName(withNames bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !withNames {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, db, err := e.open(cmd.Context())
		defer db.close()
		if err != nil {
			return completionError(err)
		}
		projections, err := db.store.Projections(ctx)
		if err != nil {
			return completionError(db.explain(ctx, err))
		}
		var names []cobra.Completion
		for _, p := range projections {
			// A name a shell cannot be handed as it is would come back
			// changed; one of the protocol's own separators would break it.
			if strings.HasPrefix(p.Name, toComplete) && !slices.Contains(args, p.Name) && displayName(p.Name) == p.Name {
				names = append(names, cobra.CompletionWithDesc(p.Name, plural(p.Shards, "shard")))
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeShard completes --shard with the shards of the projection the
// first argument names, after the shards given already, in earlier flags
// or before a comma.
func (e *env) completeShard(given *[]uint64) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, db, err := e.open(cmd.Context(), args[0])
		defer db.close()
		if err != nil {
			return completionError(err)
		}
		offsets, err := db.store.Offsets(ctx, args[0])
		if err != nil {
			return completionError(db.explain(ctx, err))
		}
		before := ""
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			before = toComplete[:i+1]
		}
		var shards []cobra.Completion
		for _, o := range offsets {
			shard := strconv.FormatUint(o.ShardNumber, 10)
			if strings.HasPrefix(before+shard, toComplete) && !slices.Contains(*given, o.ShardNumber) && !slices.Contains(strings.Split(before, ","), shard) {
				desc := "value " + strconv.FormatInt(o.Value, 10)
				if t, ok := valueTime(o.Value); ok {
					desc += ", " + t.Format(timeLayout)
				}
				shards = append(shards, cobra.CompletionWithDesc(before+shard, desc))
			}
		}
		return shards, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionError ends a completion that could not read the store,
// saying why where the shell's script, but not the user, sees it.
func completionError(err error) ([]cobra.Completion, cobra.ShellCompDirective) {
	cobra.CompErrorln(oneLine(err.Error()))
	return nil, cobra.ShellCompDirectiveError
}
