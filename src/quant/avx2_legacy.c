/* cpu_avx2_legacy.c - AVX2 kernels of the 32-weight block types (Q4_0,
 * Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) and their Q8_0/Q8_1 activations. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "quant/avx2.h"

/* ---- activations -------------------------------------------------------- */

/* roundf() of each lane: to nearest, ties away from zero (the rounding
 * instruction's nearest mode breaks ties to even, which would make these
 * activations differ from the scalar reference's). */
static inline __m256 round_away(__m256 v)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	__m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
	__m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
	return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

/* The Q8_0 quants of 32 floats, as the scalar reference computes them;
 * returns d (unrounded) and the sum of the quants in *sum. */
static inline float q8_quantize_block(const float *x, int8_t *qs, int *sum)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 v[4];
	for (int k = 0; k < 4; k++)
		v[k] = _mm256_loadu_ps(x + 8 * k);
	__m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
				 _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
	float d = hmax_ps(m) / 127, id = d ? 1 / d : 0;
	__m256i q[4];
	for (int k = 0; k < 4; k++)
		q[k] = _mm256_cvtps_epi32(round_away(_mm256_mul_ps(v[k], _mm256_set1_ps(id))));
	_mm256_storeu_si256((__m256i *)qs, pack_epi32_epi8(q[0], q[1], q[2], q[3]));
	__m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
	__m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
	s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
	s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
	*sum = _mm_cvtsi128_si32(s4);
	return d;
}

static void q8_0_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q8_0 *b = dst;
	int sum;
	for (int64_t i = 0; i < n / QK8_0; i++, b++, x += QK8_0)
		b->d = f32_to_fp16(q8_quantize_block(x, b->qs, &sum));
}

static void q8_1_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q8_1 *b = dst;
	int sum;
	for (int64_t i = 0; i < n / QK8_1; i++, b++, x += QK8_1) {
		float d = q8_quantize_block(x, b->qs, &sum);
		b->d = f32_to_fp16(d);
		b->s = f32_to_fp16((float)sum * d);
	}
}

/* ---- weight blocks ------------------------------------------------------ */

/* The byte multiply takes one unsigned and one signed operand; how each
 * type's quants meet the signed activation bytes. */
enum wkind {
	WK_SIGNED, /* signed quants (Q8_0, IQ4_NL): |q| times the activations given q's sign */
	WK_OFFSET, /* quants 0..31 standing for q - offset (Q4_0, Q5_0): offset * sum(y) comes off */
	WK_MIN,    /* quants 0..31 and a minimum m (Q4_1, Q5_1): m meets the Q8_1 activations through s */
};

AVX2_INLINE enum wkind wkind(uint32_t type)
{
	switch (type) {
	case GGML_TYPE_Q4_0:
	case GGML_TYPE_Q5_0:
		return WK_OFFSET;
	case GGML_TYPE_Q4_1:
	case GGML_TYPE_Q5_1:
		return WK_MIN;
	default:
		return WK_SIGNED;
	}
}

AVX2_INLINE int woffset(uint32_t type)
{
	return type == GGML_TYPE_Q5_0 ? 16 : 8;
}

/* Bytes of a weight block. */
AVX2_INLINE size_t wsize(uint32_t type)
{
	switch (type) {
	case GGML_TYPE_Q4_0:
		return sizeof(struct block_q4_0);
	case GGML_TYPE_Q4_1:
		return sizeof(struct block_q4_1);
	case GGML_TYPE_Q5_0:
		return sizeof(struct block_q5_0);
	case GGML_TYPE_Q5_1:
		return sizeof(struct block_q5_1);
	case GGML_TYPE_IQ4_NL:
		return sizeof(struct block_iq4_nl);
	default:
		return sizeof(struct block_q8_0);
	}
}

/* The 32 nibbles of 16 bytes in weight order: low nibbles, then high. */
AVX2_INLINE __m256i nibbles(const uint8_t *qs)
{
	__m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
	v = _mm256_srlv_epi32(v, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
	return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* 0x10 in byte j where bit j of the little-endian word qh is set. */
AVX2_INLINE __m256i fifth_bits(const uint8_t *qh)
{
	uint32_t h;
	memcpy(&h, qh, sizeof h);
	/* byte j takes byte j / 8 of h, then keeps only its bit j % 8 */
	__m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h),
					_mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
	const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201);
	return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(0x10));
}

/* The 32 quants of the block at b, as the kind says. */
AVX2_INLINE __m256i unpack(uint32_t type, const uint8_t *b)
{
	switch (type) {
	case GGML_TYPE_Q4_0:
		return nibbles(((const struct block_q4_0 *)b)->qs);
	case GGML_TYPE_Q4_1:
		return nibbles(((const struct block_q4_1 *)b)->qs);
	case GGML_TYPE_Q5_0:
		return _mm256_or_si256(nibbles(((const struct block_q5_0 *)b)->qs),
				       fifth_bits(((const struct block_q5_0 *)b)->qh));
	case GGML_TYPE_Q5_1:
		return _mm256_or_si256(nibbles(((const struct block_q5_1 *)b)->qs),
				       fifth_bits(((const struct block_q5_1 *)b)->qh));
	case GGML_TYPE_IQ4_NL: {
		/* the nibbles index the value table with one byte shuffle */
		const __m256i values = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)quant_iq4nl_values));
		return _mm256_shuffle_epi8(values, nibbles(((const struct block_iq4_nl *)b)->qs));
	}
	default:
		return _mm256_loadu_si256((const __m256i *)((const struct block_q8_0 *)b)->qs);
	}
}

/* Every weight block starts with d; those with a minimum follow it with m. */
static inline uint16_t half_at(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, sizeof h);
	return h;
}

/* ---- activation blocks -------------------------------------------------- */

AVX2_INLINE size_t asize(uint32_t type)
{
	return wkind(type) == WK_MIN ? sizeof(struct block_q8_1) : sizeof(struct block_q8_0);
}

AVX2_INLINE __m256i act_quants(uint32_t type, const uint8_t *a)
{
	return _mm256_loadu_si256((const __m256i *)(a + (wkind(type) == WK_MIN ? 4 : 2)));
}

static inline int32_t hsum_epi32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(s);
}

/* offset * sum(y) of an activation block: what quants stored with an
 * offset overcount by. */
AVX2_INLINE int32_t offset_sum(uint32_t type, __m256i y)
{
	const __m256i ones = _mm256_set1_epi16(1);
	return hsum_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8((char)woffset(type)), y), ones));
}

/* ---- dot products ------------------------------------------------------- */

/* The products of one weight block (x, and |x| for signed kinds) with one
 * activation block y, as 8 partial sums. */
AVX2_INLINE __m256i pair_dot(uint32_t type, __m256i x, __m256i ax, __m256i y)
{
	const __m256i ones = _mm256_set1_epi16(1);
	if (wkind(type) == WK_SIGNED)
		return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(y, x)), ones);
	return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), ones);
}

/* Lane k: the sum of the 8 lanes of s[k]. */
AVX2_INLINE __m256i sum8(const __m256i s[8])
{
	__m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
	__m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(s[4], s[5]), _mm256_hadd_epi32(s[6], s[7]));
	return _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x20), _mm256_permute2x128_si256(h0, h1, 0x31));
}

/* Block i of one weight row and one activation row, added to acc (and its
 * minimum's term to *mins, for kinds with a minimum). */
AVX2_INLINE __m256 block_dot(uint32_t type, const uint8_t *w, const uint8_t *act, int64_t i, __m256 acc,
			     float *mins)
{
	const uint8_t *b = w + i * wsize(type), *a = act + i * asize(type);
	__m256i x = unpack(type, b), y = act_quants(type, a), p;
	if (wkind(type) == WK_SIGNED)
		p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
	else
		p = _mm256_maddubs_epi16(x, y);
	if (wkind(type) == WK_OFFSET)
		p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(_mm256_set1_epi8((char)woffset(type)), y));
	if (wkind(type) == WK_MIN)
		*mins += FP16(half_at(b + 2)) * FP16(half_at(a + 2));
	return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1))),
			       _mm256_set1_ps(FP16(half_at(b)) * FP16(half_at(a))), acc);
}

/* One weight row against one activation row; two sums in registers take
 * alternate blocks to keep two multiply-adds in flight. */
AVX2_INLINE float dot1(uint32_t type, const uint8_t *w, const uint8_t *act, int64_t n)
{
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	float mins0 = 0, mins1 = 0;
	int64_t nb = n / 32, i = 0;
	for (; i + 2 <= nb; i += 2) {
		acc0 = block_dot(type, w, act, i, acc0, &mins0);
		acc1 = block_dot(type, w, act, i + 1, acc1, &mins1);
	}
	if (i < nb)
		acc0 = block_dot(type, w, act, i, acc0, &mins0);
	return hsum_ps(_mm256_add_ps(acc0, acc1)) + (mins0 + mins1);
}

/* Nibble weights (0..15) times activations (-127..127) stay within 16 bits
 * for 16 products, so their sums across rows can start in 16 bits. */
AVX2_INLINE bool nibble_weights(uint32_t type)
{
	return type == GGML_TYPE_Q4_0 || type == GGML_TYPE_Q4_1;
}

/* sum8 of 8 blocks' maddubs products of nibble weights: two halvings in
 * 16 bits, then one to 32 bits, take fewer instructions than widening all
 * 8 first. */
AVX2_INLINE __m256i sum8_epi16(const __m256i p[8])
{
	/* each 128-bit half: two 16-bit sums of each of rows 0..3 (4..7) */
	__m256i lo = _mm256_hadd_epi16(_mm256_hadd_epi16(p[0], p[1]), _mm256_hadd_epi16(p[2], p[3]));
	__m256i hi = _mm256_hadd_epi16(_mm256_hadd_epi16(p[4], p[5]), _mm256_hadd_epi16(p[6], p[7]));
	lo = _mm256_madd_epi16(lo, _mm256_set1_epi16(1));
	hi = _mm256_madd_epi16(hi, _mm256_set1_epi16(1));
	return _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31));
}

/* Blocks i0..i0+nb of 8 weight rows against one activation row, lane j
 * for row j: the 8 rows' sums meet in one register, so one conversion and
 * one multiply-add (with the 8 scales converted at once) serve 8 blocks.
 * corr[i - i0]: offset_sum of activation block i for offset kinds. */
AVX2_INLINE __m256 dot_8w(uint32_t type, const uint8_t *const rows[8], size_t ahead, const uint8_t *act, int64_t i0,
			  int64_t nb, const int32_t *corr, __m256 acc)
{
	for (int64_t i = i0; i < i0 + nb; i++) {
		const uint8_t *a = act + i * asize(type);
		__m256i y = act_quants(type, a), s[8];
		uint16_t d[8], m[8];
#pragma GCC unroll 8
		for (int j = 0; j < 8; j++) {
			const uint8_t *b = rows[j] + i * wsize(type);
			/* eight streams at once are more than the hardware prefetcher
			 * follows: ask for the next 8 rows' data one group ahead */
			_mm_prefetch((const char *)b + ahead, _MM_HINT_T1);
			__m256i x = unpack(type, b);
			if (nibble_weights(type))
				s[j] = _mm256_maddubs_epi16(x, y);
			else
				s[j] = pair_dot(type, x, wkind(type) == WK_SIGNED ? _mm256_sign_epi8(x, x) : x, y);
			d[j] = half_at(b);
			m[j] = wkind(type) == WK_MIN ? half_at(b + 2) : 0;
		}
		__m256i t = nibble_weights(type) ? sum8_epi16(s) : sum8(s);
		if (wkind(type) == WK_OFFSET)
			t = _mm256_sub_epi32(t, _mm256_set1_epi32(corr[i - i0]));
		__m256 dw = _mm256_cvtph_ps(_mm_setr_epi16((short)d[0], (short)d[1], (short)d[2], (short)d[3],
							   (short)d[4], (short)d[5], (short)d[6], (short)d[7]));
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_mul_ps(dw, _mm256_set1_ps(FP16(half_at(a)))), acc);
		if (wkind(type) == WK_MIN) {
			__m256 mw = _mm256_cvtph_ps(_mm_setr_epi16((short)m[0], (short)m[1], (short)m[2], (short)m[3],
								   (short)m[4], (short)m[5], (short)m[6], (short)m[7]));
			acc = _mm256_fmadd_ps(mw, _mm256_set1_ps(FP16(half_at(a + 2))), acc);
		}
	}
	return acc;
}

/* Blocks i0..i0+nb of one weight row against 8 activation rows, lane a for
 * row a, with what depends on the activations alone prepared once for all
 * weight rows: da[k] the 8 rows' scales of block i0 + k, aux[k] their
 * offset_sum (offset kinds) or s (as floats, kinds with a minimum). */
AVX2_INLINE __m256 dot_8a(uint32_t type, const uint8_t *w, const uint8_t *const acts[8], int64_t i0, int64_t nb,
			  const float (*da)[8], const int32_t (*aux)[8], __m256 acc)
{
	for (int64_t i = i0; i < i0 + nb; i++) {
		const uint8_t *b = w + i * wsize(type);
		__m256i x = unpack(type, b), ax = wkind(type) == WK_SIGNED ? _mm256_sign_epi8(x, x) : x, s[8];
#pragma GCC unroll 8
		for (int k = 0; k < 8; k++)
			s[k] = pair_dot(type, x, ax, act_quants(type, acts[k] + i * asize(type)));
		__m256i t = sum8(s);
		const int32_t *c = aux[i - i0];
		if (wkind(type) == WK_OFFSET)
			t = _mm256_sub_epi32(t, _mm256_loadu_si256((const __m256i *)c));
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t),
				      _mm256_mul_ps(_mm256_loadu_ps(da[i - i0]), _mm256_set1_ps(FP16(half_at(b)))), acc);
		if (wkind(type) == WK_MIN)
			acc = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)c), _mm256_set1_ps(FP16(half_at(b + 2))), acc);
	}
	return acc;
}

/* Blocks per pass over the activations: what is prepared from them fits
 * on the stack (and in the L1 cache) for any row length. */
#define TILE_BLOCKS 256
/* Weight rows whose sums are held while the activation blocks pass. */
#define TILE_WROWS 64

/* Activation rows one at a time, weight rows 8 at a time (those left over
 * one by one): decoding, and the first rows of prefill. */
AVX2_INLINE void tile_8w(uint32_t type, const uint8_t *w, size_t w_stride, int n_w, const uint8_t *act,
			 size_t act_stride, int n_act, int64_t n, float *out, size_t out_stride)
{
	int64_t nb = n / 32;
	int32_t corr[TILE_BLOCKS];
	for (int r = 0; r < n_act; r++) {
		const uint8_t *a = act + r * act_stride;
		float *o = out + r * out_stride;
		for (int j0 = 0; j0 + 8 <= n_w; j0 += TILE_WROWS) {
			int ng = (n_w - j0) / 8 < TILE_WROWS / 8 ? (n_w - j0) / 8 : TILE_WROWS / 8;
			__m256 acc[TILE_WROWS / 8];
			for (int g = 0; g < ng; g++)
				acc[g] = _mm256_setzero_ps();
			for (int64_t i0 = 0; i0 < nb; i0 += TILE_BLOCKS) {
				int64_t kb = nb - i0 < TILE_BLOCKS ? nb - i0 : TILE_BLOCKS;
				if (wkind(type) == WK_OFFSET)
					for (int64_t k = 0; k < kb; k++)
						corr[k] = offset_sum(type, act_quants(type, a + (i0 + k) * asize(type)));
				for (int g = 0; g < ng; g++) {
					const uint8_t *rows[8];
					for (int j = 0; j < 8; j++)
						rows[j] = w + (size_t)(j0 + 8 * g + j) * w_stride;
					acc[g] = dot_8w(type, rows, 8 * w_stride, a, i0, kb, corr, acc[g]);
				}
			}
			for (int g = 0; g < ng; g++)
				_mm256_storeu_ps(o + j0 + 8 * g, acc[g]);
		}
		for (int j = n_w / 8 * 8; j < n_w; j++)
			o[j] = dot1(type, w + (size_t)j * w_stride, a, n);
	}
}

/* Activation rows 8 at a time (the last group padded by repeating its last
 * row), weight rows one at a time: prefill, where the weight blocks are
 * decoded once for 8 rows and the activations' scales prepared once for
 * many weight rows. */
AVX2_INLINE void tile_8a(uint32_t type, const uint8_t *w, size_t w_stride, int n_w, const uint8_t *act,
			 size_t act_stride, int n_act, int64_t n, float *out, size_t out_stride)
{
	int64_t nb = n / 32;
	float da[TILE_BLOCKS][8];
	int32_t aux[TILE_BLOCKS][8];
	for (int a0 = 0; a0 < n_act; a0 += 8) {
		int na = n_act - a0 < 8 ? n_act - a0 : 8;
		const uint8_t *acts[8];
		for (int k = 0; k < 8; k++)
			acts[k] = act + (a0 + (k < na ? k : na - 1)) * act_stride;
		for (int j0 = 0; j0 < n_w; j0 += TILE_WROWS) {
			int nj = n_w - j0 < TILE_WROWS ? n_w - j0 : TILE_WROWS;
			__m256 acc[TILE_WROWS];
			for (int j = 0; j < nj; j++)
				acc[j] = _mm256_setzero_ps();
			for (int64_t i0 = 0; i0 < nb; i0 += TILE_BLOCKS) {
				int64_t kb = nb - i0 < TILE_BLOCKS ? nb - i0 : TILE_BLOCKS;
				for (int64_t k = 0; k < kb; k++)
					for (int r = 0; r < 8; r++) {
						const uint8_t *blk = acts[r] + (i0 + k) * asize(type);
						da[k][r] = FP16(half_at(blk));
						if (wkind(type) == WK_OFFSET)
							aux[k][r] = offset_sum(type, act_quants(type, blk));
						else if (wkind(type) == WK_MIN) {
							float s = FP16(half_at(blk + 2));
							memcpy(&aux[k][r], &s, sizeof s);
						}
					}
				for (int j = 0; j < nj; j++)
					acc[j] = dot_8a(type, w + (size_t)(j0 + j) * w_stride, acts, i0, kb,
							(const float(*)[8])da, (const int32_t(*)[8])aux, acc[j]);
			}
			for (int j = 0; j < nj; j++) {
				float lanes[8];
				_mm256_storeu_ps(lanes, acc[j]);
				for (int k = 0; k < na; k++)
					out[(a0 + k) * out_stride + j0 + j] = lanes[k];
			}
		}
	}
}

/* Below this many activation rows, weight rows go 8 to a register instead
 * of activation rows (padding would waste more than decoding saves). */
#define TILE_MIN_ACT 4

#define LEGACY_KERNELS(name, type)                                                                           \
	static float name##_vec_dot(const void *w, const void *act, int64_t n)                               \
	{                                                                                                    \
		return dot1(type, w, act, n);                                                                \
	}                                                                                                    \
	static void name##_vec_dot_tile(const void *w, size_t w_stride, int n_w, const void *act,            \
					size_t act_stride, int n_act, int64_t n, float *out, size_t out_stride) \
	{                                                                                                    \
		if (n_act >= TILE_MIN_ACT)                                                                   \
			tile_8a(type, w, w_stride, n_w, act, act_stride, n_act, n, out, out_stride);         \
		else                                                                                         \
			tile_8w(type, w, w_stride, n_w, act, act_stride, n_act, n, out, out_stride);         \
	}                                                                                                    \
	static void name##_vec_dot_rows(const void *w, const void *act, size_t act_stride, int n_rows,       \
					int64_t n, float *out, size_t out_stride)                            \
	{                                                                                                    \
		name##_vec_dot_tile(w, 0, 1, act, act_stride, n_rows, n, out, out_stride);                   \
	}

LEGACY_KERNELS(q4_0, GGML_TYPE_Q4_0)
LEGACY_KERNELS(q4_1, GGML_TYPE_Q4_1)
LEGACY_KERNELS(q5_0, GGML_TYPE_Q5_0)
LEGACY_KERNELS(q5_1, GGML_TYPE_Q5_1)
LEGACY_KERNELS(q8_0, GGML_TYPE_Q8_0)
LEGACY_KERNELS(iq4_nl, GGML_TYPE_IQ4_NL)

void quant_register_avx2_legacy(struct quant_kernels *k)
{
	k->from_float[GGML_TYPE_Q8_0] = q8_0_from_float;
	k->from_float[GGML_TYPE_Q8_1] = q8_1_from_float;
#define SET(type, name)                                        \
	k->vec_dot[GGML_TYPE_##type] = name##_vec_dot;         \
	k->vec_dot_rows[GGML_TYPE_##type] = name##_vec_dot_rows; \
	k->vec_dot_tile[GGML_TYPE_##type] = name##_vec_dot_tile
	SET(Q4_0, q4_0);
	SET(Q4_1, q4_1);
	SET(Q5_0, q5_0);
	SET(Q5_1, q5_1);
	SET(Q8_0, q8_0);
	SET(IQ4_NL, iq4_nl);
#undef SET
}
