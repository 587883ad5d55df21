// Command protogen turns the project's .proto files into Go code without
// protoc: it compiles them with protocompile, a proto compiler written in Go,
// and hands the result to protoc-gen-go, as protoc would.
//
// Usage:
//
//	protogen -plugin PATH -proto DIR -module MODULE -out DIR
//
// Every .proto file under -proto is compiled, with -proto as its import
// root, so a file's path below it is the path it registers under at run
// time. The Go files land under -out at their go_package import path with
// -module trimmed off (protoc-gen-go's module= option).
//
// scripts/generate.sh runs it with the pinned protoc-gen-go; use that.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	plugin := flag.String("plugin", "", "path of the protoc-gen-go `binary`")
	protoDir := flag.String("proto", "", "`directory` holding the .proto files; their import root")
	module := flag.String("module", "", "Go `module` path trimmed from go_package to place the output")
	out := flag.String("out", "", "`directory` the Go files are written under")
	flag.Parse()
	if *plugin == "" || *protoDir == "" || *module == "" || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: protogen -plugin PATH -proto DIR -module MODULE -out DIR")
		os.Exit(2)
	}
	if err := generate(*plugin, *protoDir, *module, *out); err != nil {
		fmt.Fprintln(os.Stderr, "protogen:", err)
		os.Exit(1)
	}
}

func generate(plugin, protoDir, module, out string) error {
	files, err := protoFiles(protoDir)
	if err != nil {
		return err
	}
	req, err := request(protoDir, files, "module="+module)
	if err != nil {
		return err
	}
	resp, err := runPlugin(plugin, req)
	if err != nil {
		return err
	}
	for _, f := range resp.GetFile() {
		path := filepath.Join(out, filepath.FromSlash(f.GetName()))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// protoFiles returns the paths, relative to dir and slash-separated as
// import paths are, of the .proto files under dir, sorted so that the
// output never depends on the order the file system lists them in.
func protoFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".proto" {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no .proto file under %s", dir)
	}
	slices.Sort(files)
	return files, err
}

// request compiles files and returns the request protoc would send a
// plugin for them: every file they need, dependencies first, with the
// comments protoc-gen-go copies into the Go code.
func request(protoDir string, files []string, parameter string) (*pluginpb.CodeGeneratorRequest, error) {
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			ImportPaths: []string{protoDir},
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	compiled, err := compiler.Compile(context.Background(), files...)
	if err != nil {
		return nil, err
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: files, Parameter: proto.String(parameter)}
	seen := make(map[string]bool)
	var add func(protoreflect.FileDescriptor)
	add = func(f protoreflect.FileDescriptor) {
		if seen[f.Path()] {
			return
		}
		seen[f.Path()] = true
		imports := f.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(f))
	}
	for _, f := range compiled {
		add(f)
	}
	return req, nil
}

// runPlugin runs the plugin on req, as protoc would, and returns what it
// generated, or the error it reported.
func runPlugin(plugin string, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	in, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(plugin)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", plugin, err, stderr.Bytes())
	}
	resp := new(pluginpb.CodeGeneratorResponse)
	if err := proto.Unmarshal(stdout.Bytes(), resp); err != nil {
		return nil, fmt.Errorf("%s: reading its response: %w", plugin, err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("%s: %s", plugin, resp.GetError())
	}
	return resp, nil
}
