import Testing

@testable import LogferryCore

@Suite struct MetricsRegistryTests {
    @Test func histogramCountsIntoItsBuckets() {
        var h = Histogram(bounds: [0.01, 0.05, 0.1])
        for v in [0.001, 0.01, 0.02, 0.05, 0.07, 3] { h.observe(v) }
        #expect(h.counts == [2, 2, 1, 1])  // a value equal to a bound is in that bound's bucket (le)
        #expect(h.count == 6)
        #expect(abs(h.sum - 3.151) < 1e-9)
        #expect(h.bound(holding: 0.5) == 0.05)
        #expect(h.bound(holding: 0.8) == 0.1)
        #expect(h.bound(holding: 0.99) == nil)  // above every bound
        #expect(Histogram(bounds: [1]).bound(holding: 0.5) == nil)
    }

    @Test func histogramRendersCumulativeBucketsSumAndCount() {
        var h = Histogram(bounds: [0.01, 0.05])
        for v in [0.001, 0.02, 0.02, 9] { h.observe(v) }
        let text = MetricsRegistry.render([
            MetricSample(histogram: "logferry_x_seconds", "Help.", labels: [("destination", "c")], h)
        ])
        #expect(
            text == """
                # HELP logferry_x_seconds Help.
                # TYPE logferry_x_seconds histogram
                logferry_x_seconds_bucket{destination="c",le="0.01"} 1
                logferry_x_seconds_bucket{destination="c",le="0.05"} 3
                logferry_x_seconds_bucket{destination="c",le="+Inf"} 4
                logferry_x_seconds_sum{destination="c"} 9.041
                logferry_x_seconds_count{destination="c"} 4

                """)
    }
}
