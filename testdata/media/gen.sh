#!/bin/sh
# Regenerates the sample media in this directory. Needs ffmpeg (Debian:
# apt-get install ffmpeg). The committed files are what the tests use; run
# this only to rebuild them, then check the sizes stay at a few KB.
set -eu
cd "$(dirname "$0")"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
src="testsrc2=size=64x48:rate=10"

# Valid samples.
ff -f lavfi -i "$src" -frames:v 1 -q:v 5 photo.jpg
ff -f lavfi -i "smptebars=size=48x32" -frames:v 1 -q:v 5 -f mjpeg photo.jpeg
ff -f lavfi -i "$src" -frames:v 1 photo.png
ff -f lavfi -i "$src" -frames:v 3 -loop 0 anim.gif
ff -f lavfi -i "testsrc2=size=16x12" -frames:v 1 -pix_fmt bgr24 photo.bmp
ff -f lavfi -i "$src" -t 0.5 -c:v libx264 -preset ultrafast -crf 40 -pix_fmt yuv420p \
	-movflags +faststart -brand isom -map_metadata -1 -fflags +bitexact clip.mp4

# Broken samples, each rejected by validate.
ff -f lavfi -i "$src" -t 0.3 -c:v libx264 -preset ultrafast -crf 40 -pix_fmt yuv420p \
	-map_metadata -1 -fflags +bitexact -f mov bad/quicktime.mov
head -c "$(( $(wc -c < photo.jpg) / 2 ))" photo.jpg > bad/truncated.jpg
head -c 100 photo.jpg > bad/truncated-header.jpg
head -c "$(( $(wc -c < photo.png) / 2 ))" photo.png > bad/truncated.png
head -c "$(( $(wc -c < anim.gif) - 1 ))" anim.gif > bad/truncated.gif
head -c "$(( $(wc -c < photo.bmp) - 64 ))" photo.bmp > bad/truncated.bmp
head -c "$(( $(wc -c < clip.mp4) - 100 ))" clip.mp4 > bad/truncated.mp4
printf 'This is a plain text file with a .jpg name.\n' > bad/text.jpg
: > bad/empty.jpg
