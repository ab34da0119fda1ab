package importer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/tasks"
)

func ExampleRun() {
	// A directory with a photo, a video in a subdirectory, and a text file
	// pretending to be a JPEG.
	dir, err := os.MkdirTemp("", "import-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	for src, dst := range map[string]string{"photo.png": "photo.png", "clip.mp4": "video/clip.mp4", "bad/text.jpg": "notes.jpg"} {
		b, err := os.ReadFile(filepath.Join("../../testdata/media", src))
		if err != nil {
			panic(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, dst)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			panic(err)
		}
	}

	client, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:   sharedRedisURL, // e.g. "redis://127.0.0.1:6379/0"
		MediaRoots: []string{dir},
		Queue:      "example-import",
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()

	var lines []string
	sum, err := importer.Run(context.Background(), importer.Config{
		Client: client,
		Paths:  []string{dir},
		Name:   importer.NameRelPath,
		OnRow: func(r importer.Row) {
			detail := r.ImageType
			if r.State == importer.StateRejected {
				detail = "(" + r.Reason + ")"
			}
			lines = append(lines, fmt.Sprintf("%s %s %s", r.ImageName, r.State, detail))
		},
	})
	if err != nil {
		panic(err)
	}
	slices.Sort(lines) // rows arrive in the order files finish
	fmt.Println(strings.Join(lines, "\n"))
	fmt.Println("queued:", sum.Queued, "rejected:", sum.Rejected, "ok:", sum.OK())
	// Output:
	// notes.jpg rejected (unsupported_type)
	// photo.png queued png
	// video/clip.mp4 queued mp4
	// queued: 2 rejected: 1 ok: false
}

func ExampleShortenName() {
	long := strings.Repeat("门店照片", 40) + ".jpg" // 164 characters
	short := importer.ShortenName(long, importer.MaxNameRunes)
	fmt.Println(len([]rune(short)), strings.HasSuffix(short, ".jpg"))
	// Output: 128 true
}

func ExampleNameRule_Name() {
	for _, rule := range []importer.NameRule{importer.NameBase, importer.NameRelPath, importer.NameStem} {
		fmt.Printf("%-7s %s\n", rule, rule.Name("shop-12/front.jpg"))
	}
	// Output:
	// base    front.jpg
	// relpath shop-12/front.jpg
	// stem    front
}
