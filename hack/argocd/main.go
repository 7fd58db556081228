// Command argocd runs one Argo CD component, named by its first argument, from Argo CD's own cobra
// commands: application-controller, repo-server or server. One binary holds the three so that the
// test builds Argo CD once; the CLI, Dex, notifications and the ApplicationSet controller are left out.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	controller "github.com/argoproj/argo-cd/v2/cmd/argocd-application-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v2/cmd/argocd-repo-server/commands"
	server "github.com/argoproj/argo-cd/v2/cmd/argocd-server/commands"
)

func main() {
	commands := map[string]func() *cobra.Command{
		"application-controller": controller.NewCommand,
		"repo-server":            reposerver.NewCommand,
		"server":                 server.NewCommand,
	}
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: argocd application-controller|repo-server|server [flags]")
		os.Exit(2)
	}
	command := commands[os.Args[1]]()
	command.SetArgs(os.Args[2:])
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
