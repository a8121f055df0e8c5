/* The random bytes loro appends to a tree's fractional indexes when jitter is enabled
 * (LoroTree.enable_fractional_index(jitter)).
 *
 * To give the same indexes as loro, this is the generator loro's tree state holds: Rust
 * rand's StdRng (ChaCha with 12 rounds, a 64-bit block counter and a zero stream) keyed by
 * seed_from_u64 (eight outputs of a PCG32 step over the u64 seed), each byte being the low
 * byte of the next 32-bit output word. A tree's generator starts from seed 0; loro reseeds
 * it with the peer id only when generation is enabled again after being disabled.
 * Everything is inline: one small struct per tree, owned by its TreeMoves. */
#ifndef LORO_C_JITTER_H
#define LORO_C_JITTER_H

#include <stdint.h>
#include <string.h>

typedef struct {
    uint32_t key[8];
    uint64_t block;         /* the next block's counter */
    uint32_t out[16];       /* the current block's output words */
    int used;               /* words of `out` consumed (16: none left) */
} lc_jitter_rng;

static inline uint32_t lc_rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static inline uint32_t lc_rotr32(uint32_t x, unsigned n) {
    n &= 31;
    return n ? (x >> n) | (x << (32 - n)) : x;
}

#define LC_QR(s, a, b, c, d)                                          \
    do {                                                              \
        s[a] += s[b]; s[d] = lc_rotl32(s[d] ^ s[a], 16);              \
        s[c] += s[d]; s[b] = lc_rotl32(s[b] ^ s[c], 12);              \
        s[a] += s[b]; s[d] = lc_rotl32(s[d] ^ s[a], 8);               \
        s[c] += s[d]; s[b] = lc_rotl32(s[b] ^ s[c], 7);               \
    } while (0)

static inline void lc_jitter_refill(lc_jitter_rng *r) {
    uint32_t in[16], w[16];
    int i;
    in[0] = 0x61707865u; in[1] = 0x3320646eu; in[2] = 0x79622d32u; in[3] = 0x6b206574u;
    memcpy(&in[4], r->key, sizeof(r->key));
    in[12] = (uint32_t)r->block;
    in[13] = (uint32_t)(r->block >> 32);
    in[14] = 0;
    in[15] = 0;
    memcpy(w, in, sizeof(w));
    for (i = 0; i < 6; i++) {           /* 12 rounds: 6 column + diagonal pairs */
        LC_QR(w, 0, 4, 8, 12); LC_QR(w, 1, 5, 9, 13); LC_QR(w, 2, 6, 10, 14); LC_QR(w, 3, 7, 11, 15);
        LC_QR(w, 0, 5, 10, 15); LC_QR(w, 1, 6, 11, 12); LC_QR(w, 2, 7, 8, 13); LC_QR(w, 3, 4, 9, 14);
    }
    for (i = 0; i < 16; i++)
        r->out[i] = w[i] + in[i];
    r->block++;
    r->used = 0;
}

static inline void lc_jitter_seed(lc_jitter_rng *r, uint64_t state) {
    const uint64_t mul = 6364136223846793005ull, inc = 11634580027462260723ull;
    int i;
    for (i = 0; i < 8; i++) {
        uint32_t xorshifted;
        state = state * mul + inc;
        xorshifted = (uint32_t)(((state >> 18) ^ state) >> 27);
        r->key[i] = lc_rotr32(xorshifted, (unsigned)(state >> 59));   /* little-endian bytes */
    }
    r->block = 0;
    r->used = 16;
}

static inline uint8_t lc_jitter_byte(lc_jitter_rng *r) {
    if (r->used >= 16)
        lc_jitter_refill(r);
    return (uint8_t)r->out[r->used++];
}

#undef LC_QR
#endif
