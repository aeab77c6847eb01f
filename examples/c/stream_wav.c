/*
 * Streams a 16-bit mono 16 kHz WAV file through hushword in 10 ms (160-sample) chunks, as
 * recorder firmware would feed it from a microphone, and prints each detection with the
 * length of its pre-roll audio.
 *
 *   stream_wav AUDIO.wav [MODEL.onnx]     (no model: the library's embedded default)
 *
 * Build (after `cargo build --release`):
 *   cc -std=c99 -Wall -Iinclude examples/c/stream_wav.c target/release/libhushword.a \
 *      -lpthread -ldl -lm -lrt -lutil -o stream_wav
 *
 * Output: one "detection" line per event, then a "done" line; errors go to stderr with a
 * non-zero exit status.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hushword.h"

#define CHUNK 160
#define SAMPLE_RATE 16000

/* Little-endian readers, so the parser works on any host. */
static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/*
 * Minimal RIFF/WAVE reader: walks the chunks, checks "fmt " is PCM 16-bit mono 16 kHz and
 * returns the "data" samples (malloc'd; *count samples). Returns NULL with a message on error.
 */
static int16_t *read_wav(const char *path, size_t *count) {
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "error: %s: cannot open\n", path);
        return NULL;
    }
    unsigned char riff[12];
    int has_format = 0;
    int16_t *samples = NULL;
    if (fread(riff, 1, 12, file) != 12 || memcmp(riff, "RIFF", 4) || memcmp(riff + 8, "WAVE", 4)) {
        fprintf(stderr, "error: %s: not a RIFF/WAVE file\n", path);
        fclose(file);
        return NULL;
    }
    unsigned char header[8];
    while (!samples && fread(header, 1, 8, file) == 8) {
        uint32_t size = le32(header + 4);
        if (!memcmp(header, "fmt ", 4)) {
            unsigned char fmt[16];
            if (size < 16 || fread(fmt, 1, 16, file) != 16) break;
            if (le16(fmt) != 1 || le16(fmt + 2) != 1 || le32(fmt + 4) != SAMPLE_RATE ||
                le16(fmt + 14) != 16) {
                fprintf(stderr, "error: %s: need 16-bit PCM mono at %d Hz\n", path, SAMPLE_RATE);
                fclose(file);
                return NULL;
            }
            has_format = 1;
            if (fseek(file, (long)(size - 16 + (size & 1)), SEEK_CUR)) break;
        } else if (!memcmp(header, "data", 4) && has_format) {
            unsigned char *raw = malloc(size ? size : 1);
            if (!raw || fread(raw, 1, size, file) != size) {
                free(raw);
                break;
            }
            *count = size / 2;
            samples = malloc((*count ? *count : 1) * sizeof *samples);
            for (size_t i = 0; samples && i < *count; i++) samples[i] = (int16_t)le16(raw + 2 * i);
            free(raw);
        } else if (fseek(file, (long)(size + (size & 1)), SEEK_CUR)) {
            break;
        }
    }
    fclose(file);
    if (!samples) fprintf(stderr, "error: %s: no readable fmt/data chunks\n", path);
    return samples;
}

static int fail(const char *what) {
    fprintf(stderr, "error: %s: %s\n", what, hushword_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s AUDIO.wav [MODEL.onnx]\n", argv[0]);
        return 2;
    }
    size_t count = 0;
    int16_t *audio = read_wav(argv[1], &count);
    if (!audio) return 1;

    HushwordConfig config;
    hushword_config_default(&config);
    config.pre_roll_ms = 1500;

    HushwordDetector *detector = NULL;
    int status = argc == 3 ? hushword_detector_new_from_path(argv[2], &config, &detector)
                           : hushword_detector_new_default(&config, &detector);
    if (status != HUSHWORD_STATUS_OK) {
        free(audio);
        return fail("cannot create the detector");
    }
    size_t memory = 0;
    hushword_detector_memory_bytes(detector, &memory);

    /* Everything the loop needs, allocated before it: the pre-roll copy buffer. */
    size_t pre_roll_capacity = (size_t)config.pre_roll_ms * SAMPLE_RATE / 1000;
    int16_t *pre_roll = malloc(pre_roll_capacity * sizeof *pre_roll);
    int exit_code = pre_roll ? 0 : 1;

    for (size_t at = 0; exit_code == 0 && at < count; at += CHUNK) {
        size_t n = count - at < CHUNK ? count - at : CHUNK;
        if (hushword_push_i16(detector, audio + at, n) != HUSHWORD_STATUS_OK) {
            exit_code = fail("push");
            break;
        }
        HushwordDetection detection;
        while (hushword_poll(detector, &detection) == HUSHWORD_STATUS_OK) {
            size_t length = 0;
            if (hushword_copy_pre_roll(detector, pre_roll, pre_roll_capacity, &length) !=
                HUSHWORD_STATUS_OK) {
                exit_code = fail("copy pre-roll");
                break;
            }
            printf("detection keyword=%s score=%.3f time=%.3f s pre_roll=%zu samples (%.2f s)\n",
                   detection.keyword, detection.score,
                   (double)detection.position / SAMPLE_RATE, length,
                   (double)length / SAMPLE_RATE);
        }
    }
    uint64_t seen = 0, dropped = 0;
    hushword_samples_seen(detector, &seen);
    hushword_dropped_detections(detector, &dropped);
    if (exit_code == 0)
        printf("done samples=%llu (%.2f s) dropped=%llu detector_memory=%zu bytes\n",
               (unsigned long long)seen, (double)seen / SAMPLE_RATE,
               (unsigned long long)dropped, memory);
    hushword_detector_free(detector);
    free(pre_roll);
    free(audio);
    return exit_code;
}
