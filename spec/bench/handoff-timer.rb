# frozen_string_literal: true

# Loaded by the handoff benchmark alone, through RUBYOPT=-r<this file>, into `puppet apply`:
# it times what the configured report processors cost inside Puppet, so the benchmark can
# weigh the autoami processor against the run without the noise of two whole runs. It
# writes one JSON object to $AUTOAMI_BENCH_PROCESSOR_TIMES when Puppet hands over the report:
#   load_ms:  inside Puppet::Reports.report (the first call loads the processor's Ruby files)
#   total_ms: all of Puppet's report processing (load, the report's dup and extend, process)
# The shipped processor is left as it is; nothing happens without the variable.

times_file = ENV.fetch('AUTOAMI_BENCH_PROCESSOR_TIMES', '')
# RUBYOPT reaches any Ruby that Puppet might start; only Puppet itself is timed.
if !times_file.empty? && File.basename($PROGRAM_NAME) == 'puppet'
  # Files every apply loads anyway (bin/puppet requires puppet first; the report terminus,
  # used with --reports none too, requires the other two), so the timer adds none.
  require 'puppet'
  require 'puppet/reports'
  require 'puppet/indirector/report/processor'

  module AutoamiBenchTimer
    @load = 0.0

    class << self
      attr_accessor :load
    end

    def self.now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    # Prepended to Puppet::Reports' singleton class: the lookup that loads a processor.
    module Lookup
      def report(name)
        started = AutoamiBenchTimer.now
        super
      ensure
        AutoamiBenchTimer.load += AutoamiBenchTimer.now - started
      end
    end

    # Prepended to the terminus that runs every configured processor on the saved report.
    module Processing
      def process(report)
        AutoamiBenchTimer.load = 0.0
        started = AutoamiBenchTimer.now
        super
      ensure
        total = AutoamiBenchTimer.now - started
        File.write(
          ENV.fetch('AUTOAMI_BENCH_PROCESSOR_TIMES'),
          JSON.generate('reports' => Puppet[:reports], 'load_ms' => AutoamiBenchTimer.load * 1000, 'total_ms' => total * 1000),
        )
      end
    end
  end

  Puppet::Reports.singleton_class.prepend(AutoamiBenchTimer::Lookup)
  Puppet::Transaction::Report::Processor.prepend(AutoamiBenchTimer::Processing)
end
